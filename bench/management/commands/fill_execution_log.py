"""Fill a PostgreSQL database with a large execution log, for the log's benchmark:

    manage.py fill_execution_log --executions 1000000 --runs-per-execution 5

5 teams with 10 automations each (made through the services, as a person would), then
the executions spread evenly over the last ``--days`` days and their step runs, written
by the database itself (INSERT ... SELECT over generate_series: no rows travel from
Python). ``--older`` adds executions past the retention period, for the pruning run.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.services import team_create
from automations import services
from automations.models import Automation, Execution, StepRun

TRANSFORM = {"connector": "flow", "action": "transform", "config": {"value": "{{ trigger.body }}"}}
REPLY = {"key": "reply", "connector": "response", "action": "respond", "config": {"body": "ok"}}
STEPS = [{"key": f"s{i}", **TRANSFORM} for i in range(4)] + [REPLY]

EXECUTIONS_SQL = """
INSERT INTO {execution} (automation_id, status, is_test, trigger_output, depth,
    resume_position, resume_path, waited_seconds, error, tokens_used, created_at,
    started_at, finished_at, duration_ms)
SELECT ids[1 + g %% cardinality(ids)],
    CASE WHEN (g / 50) %% 20 = 0 THEN 'failed' ELSE 'succeeded' END, false,
    jsonb_build_object('body', jsonb_build_object('n', g)), 0, 0, '', 0,
    CASE WHEN (g / 50) %% 20 = 0 THEN 'The service answered 500.' ELSE '' END, 0,
    start + (g * span / %(count)s), start + (g * span / %(count)s),
    start + (g * span / %(count)s) + interval '12 milliseconds', 12
FROM generate_series(1, %(count)s) AS g,
    (SELECT %(ids)s::bigint[] AS ids, now() - %(start_days)s * interval '1 day' AS start,
            %(span_days)s * interval '1 day' AS span) AS p
"""  # noqa: S608 (table names from the models, values as parameters)

RUNS_SQL = """
INSERT INTO {steprun} (execution_id, step_key, position, path, connector, action, status,
    input, output, output_truncated, error, attempts, reused, tokens_used, started_at,
    finished_at, duration_ms)
SELECT e.id, CASE WHEN k = %(last)s THEN 'reply' ELSE 's' || k END, k, k::text,
    CASE WHEN k = %(last)s THEN 'response' ELSE 'flow' END,
    CASE WHEN k = %(last)s THEN 'respond' ELSE 'transform' END, 'succeeded',
    '{{"value": {{"n": 1}}}}'::jsonb, '{{"n": 1}}'::jsonb, false, '', 1, false, 0,
    e.created_at, e.created_at, 2
FROM {execution} e, generate_series(0, %(last)s) AS k
WHERE e.id > %(after)s
"""  # noqa: S608


class Command(BaseCommand):
    help = "Fill the database with a large execution log (PostgreSQL only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--executions", type=int, default=1_000_000)
        parser.add_argument("--runs-per-execution", type=int, default=5)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--teams", type=int, default=5)
        parser.add_argument("--automations", type=int, default=50)
        parser.add_argument(
            "--older",
            type=int,
            default=0,
            help="Only add this many executions from 31 to 40 days ago (for pruning).",
        )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("fill_execution_log needs PostgreSQL.")
        started = time.monotonic()
        ids = self._automations(options["teams"], options["automations"])
        if options["older"]:
            count, start_days, span_days = options["older"], 40, 9
        else:
            count, start_days, span_days = options["executions"], options["days"], options["days"]
        tables = {"execution": Execution._meta.db_table, "steprun": StepRun._meta.db_table}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('is_superuser') = 'on'")
            if cursor.fetchone()[0]:
                # Every row refers to rows the same statement reads, so the foreign key
                # checks (one per row at commit: half the time of the fill) cannot fail.
                # Replica mode skips them, as triggers; only a superuser may set it.
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {tables['execution']}")  # noqa: S608
            after = cursor.fetchone()[0]
            cursor.execute(
                EXECUTIONS_SQL.format(**tables),
                {
                    "count": count,
                    "ids": ids,
                    "start_days": start_days,
                    "span_days": span_days,
                },
            )
            if options["runs_per_execution"]:
                cursor.execute(
                    RUNS_SQL.format(**tables),
                    {"last": options["runs_per_execution"] - 1, "after": after},
                )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables['execution']}")
            cursor.execute(f"ANALYZE {tables['steprun']}")
        self.stdout.write(f"{count} executions in {time.monotonic() - started:.1f} s")

    def _automations(self, teams: int, automations: int) -> list[int]:
        """The automations of the log's teams, made the first time."""
        existing = list(
            Automation.objects.filter(project__team__slug__startswith="log-team-")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if existing:
            return existing
        owner = get_user_model().objects.create_user("log-owner")
        made = []
        for t in range(teams):
            team = team_create(name=f"Log team {t}", owner=owner)
            project = services.project_create(team=team, name="Log")
            for a in range(automations // teams):
                automation = services.automation_create(
                    project=project,
                    data={
                        "name": f"Log {t}.{a}",
                        "trigger": {
                            "connector": "http",
                            "trigger": "request",
                            "config": {"method": "POST"},
                        },
                        "steps": STEPS,
                    },
                )
                made.append(automation.pk)
        return made
