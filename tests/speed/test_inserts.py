"""The log's own insert (engine/inserts.py) on the database the suite runs on: one
statement on PostgreSQL, one short transaction on SQLite. It stores what the ORM would
store, writes the execution only while its automation has the expected version, and
writes all or nothing."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import services
from automations.engine import inserts
from automations.models import Automation, Execution, Status, StepRun
from connectors.jsondata import encoded
from tests.automations.factories import make_project
from tests.support.flows import http_automation, reply_step, sub_automation

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
STARTED = datetime(2026, 3, 29, 1, 59, 58, 123456, tzinfo=BERLIN)


def automation(team, respond: bool = False) -> Automation:
    steps = [
        {"key": "reply", "connector": "response", "action": "respond", "config": {"body": "ok"}}
    ]
    made = services.automation_create(
        project=make_project(team),
        data={
            "name": "Log",
            "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
            "steps": steps if respond else [],
        },
    )
    if respond:
        made = services.automation_activate(automation=made)
    made.refresh_from_db()  # the version each write bumped
    return made


def execution(auto: Automation) -> Execution:
    return Execution(
        automation=auto,
        status=Status.SUCCEEDED,
        is_test=True,
        trigger_output={"body": {"text": "grüße ✓", "n": 1.5, "ok": True, "none": None}},
        response=["a", {"b": [1, 2]}],
        error="",
        tokens_used=7,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=1),
        duration_ms=1000,
    )


def run_values(count: int) -> list[dict]:
    return [
        {
            "step_key": f"s{i}", "position": i, "path": str(i), "iteration": i % 2 or None,
            "connector": "flow", "action": "transform", "status": Status.SUCCEEDED,
            "input": {"i": i, "text": "ünïcode"}, "output": None if i == 1 else [i, None, "x"],
            "output_truncated": i == 2, "error": "", "attempts": 1,
            "started_at": STARTED, "finished_at": STARTED.astimezone(ZoneInfo("UTC")),
            "duration_ms": 3, "tokens_used": 0, "reused": i == 0,
        }
        for i in range(count)
    ]  # fmt: skip


def stored(model, pk_column: str, pk: int, skip: tuple[str, ...]) -> dict:
    """A row as the database holds it, read without the ORM's conversions."""
    columns = [f.column for f in model._meta.concrete_fields if f.column not in skip]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {model._meta.db_table} WHERE {pk_column} = %s",  # noqa: S608
            [pk],
        )
        rows = cursor.fetchall()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def test_it_stores_what_the_orm_stores(team):
    auto = automation(team)
    fast, slow = execution(auto), execution(auto)
    inserts.insert_execution(fast, run_values(3))
    slow.save(force_insert=True)
    StepRun.objects.bulk_create([StepRun(execution=slow, **values) for values in run_values(3)])

    assert not fast._state.adding
    skip = ("id", "created_at")
    assert stored(Execution, "id", fast.pk, skip) == stored(Execution, "id", slow.pk, skip)
    skip = ("id", "execution_id")
    assert stored(StepRun, "execution_id", fast.pk, skip) == stored(
        StepRun, "execution_id", slow.pk, skip
    )
    # And read back through the ORM, every value is the one given.
    read = Execution.objects.get(pk=fast.pk)
    assert read.trigger_output == fast.trigger_output
    assert read.response == ["a", {"b": [1, 2]}]
    assert read.started_at == STARTED and read.is_test is True
    assert abs(read.created_at - timezone.now()) < timedelta(minutes=1)
    runs = list(read.step_runs.order_by("position").values(*run_values(1)[0]))
    assert runs == run_values(3)
    assert StepRun.objects.filter(execution=read, output__isnull=True).count() == 1


def test_json_the_recorder_wrote_is_stored_as_the_orm_stores_it(team):
    auto = automation(team)
    fast, slow = execution(auto), execution(auto)
    runs = run_values(3)
    values = [
        fast.trigger_output,
        fast.response,
        *(r[k] for r in runs for k in ("input", "output")),
    ]
    texts = {id(v): (v, encoded(v)) for v in values if v is not None}
    inserts.insert_execution(fast, runs, texts=texts)
    slow.save(force_insert=True)
    StepRun.objects.bulk_create([StepRun(execution=slow, **values) for values in run_values(3)])

    skip = ("id", "created_at")
    assert stored(Execution, "id", fast.pk, skip) == stored(Execution, "id", slow.pk, skip)
    skip = ("id", "execution_id")
    assert stored(StepRun, "execution_id", fast.pk, skip) == stored(
        StepRun, "execution_id", slow.pk, skip
    )


def test_a_text_is_used_only_for_the_value_it_was_written_for():
    value, other = {"a": 1}, {"b": 2}
    assert inserts._json_text(value, None, {id(value): (other, '{"b": 2}')}, False) == '{"a": 1}'
    assert inserts._json_text(value, None, {id(value): (value, '{"a":1}')}, False) == '{"a":1}'
    # SQLite stores the ORM's text, which escapes what is not ASCII.
    accented = {"text": "grüße"}
    texts = {id(accented): (accented, encoded(accented))}
    assert inserts._json_text(accented, None, texts, True) == json.dumps(accented)
    assert inserts._json_text(accented, None, texts, False) == encoded(accented)


def test_a_stale_version_writes_nothing(team):
    auto = automation(team)
    with pytest.raises(inserts.StalePlan):
        inserts.insert_execution(execution(auto), run_values(2), expect=(auto.pk, auto.version + 1))
    assert not Execution.objects.exists() and not StepRun.objects.exists()

    current = execution(auto)
    inserts.insert_execution(current, run_values(2), expect=(auto.pk, auto.version))
    assert Execution.objects.get().pk == current.pk
    assert StepRun.objects.filter(execution=current).count() == 2


def test_a_queued_run_alone_is_checked_too(team):
    auto = automation(team)
    queued = Execution(automation=auto, status=Status.QUEUED, trigger_output={"n": 1})
    with pytest.raises(inserts.StalePlan):
        inserts.insert_execution(queued, [], expect=(auto.pk, auto.version + 1))
    inserts.insert_execution(queued, [], expect=(auto.pk, auto.version))
    assert Execution.objects.get().trigger_output == {"n": 1}


def test_it_writes_as_many_step_runs_as_it_takes_in_one_go(team):
    assert inserts.supported(inserts.MAX_RUNS)
    assert not inserts.supported(inserts.MAX_RUNS + 1)
    auto = automation(team)
    big = execution(auto)
    inserts.insert_execution(big, run_values(inserts.MAX_RUNS))
    assert StepRun.objects.filter(execution=big).count() == inserts.MAX_RUNS


@contextmanager
def step_runs_refused(step_key: str | None = None):
    """The database refuses every step run, or those of one key (a trigger raising an
    error on insert)."""
    only = f"WHEN (NEW.step_key = '{step_key}') " if step_key else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_rows() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_step_runs BEFORE INSERT ON automations_steprun "
                f"FOR EACH ROW {only}EXECUTE FUNCTION refuse_rows()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_step_runs BEFORE INSERT ON automations_steprun "
                f"{only}BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER refuse_step_runs ON automations_steprun")
                cursor.execute("DROP FUNCTION refuse_rows()")
            else:
                cursor.execute("DROP TRIGGER refuse_step_runs")


# As a web request writes: in autocommit, outside any transaction of the test's.


def no_transaction_left_open():
    # On SQLite, one left open would refuse the next BEGIN.
    with transaction.atomic():
        Execution.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_refused_step_run_leaves_no_execution(team):
    auto = automation(team)
    with step_runs_refused():
        with pytest.raises(Exception, match="refused"):
            inserts.insert_execution(execution(auto), run_values(2))
    assert not Execution.objects.exists()
    no_transaction_left_open()
    inserts.insert_execution(execution(auto), run_values(2), expect=(auto.pk, auto.version))
    assert StepRun.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_stale_version_writes_nothing(team):
    auto = automation(team)
    with pytest.raises(inserts.StalePlan):
        inserts.insert_execution(execution(auto), run_values(2), expect=(auto.pk, auto.version + 1))
    assert not Execution.objects.exists()
    no_transaction_left_open()


@pytest.mark.django_db(transaction=True)
def test_a_webhook_whose_log_is_refused_is_logged_once_as_failed(client, team):
    auto = automation(team, respond=True)
    with step_runs_refused():
        response = post(client, auto)
    assert response.status_code == 502
    failed = Execution.objects.get()
    assert failed.pk == response.json()["execution_id"]
    assert failed.status == Status.FAILED
    assert failed.error.startswith("The log could not be written: ")


def post(client, auto):
    return client.post(
        f"/hooks/{auto.webhook_token}/", json.dumps({"n": 1}), content_type="application/json"
    )


@pytest.mark.django_db(transaction=True)
def test_a_webhook_served_from_its_cached_plan_reads_no_version(client, team):
    auto = automation(team, respond=True)
    assert post(client, auto).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert post(client, auto).status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if q.lstrip().upper().startswith("SELECT")], sql
    assert Execution.objects.count() == 2 and StepRun.objects.count() == 2


def parent_with_a_child(team) -> Automation:
    project = make_project(team)
    sub_automation(project, "Greeter", "Greets", [], [reply_step("Hello")])
    run = {"key": "run", "connector": "sub_automation", "action": "run",
           "config": {"sub_automation": "Greeter", "arguments": {}}}  # fmt: skip
    return http_automation(project, "Main", [run, reply_step("{{ steps.run }}", key="answer")])


@pytest.mark.django_db(transaction=True)
def test_a_webhook_writes_its_sub_automation_run_with_it(client, team):
    parent = parent_with_a_child(team)
    for _ in range(2):  # the second from the cached plan
        assert post(client, parent).content == b"Hello"
    for execution in Execution.objects.filter(parent__isnull=True):
        child = Execution.objects.get(parent=execution)
        assert child.depth == 1 and child.status == Status.SUCCEEDED
        assert child.step_runs.get().output == {"status": 200, "body": "Hello", "headers": {}}
        assert execution.step_runs.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_log_leaves_no_sub_automation_run_behind(client, team):
    parent = parent_with_a_child(team)
    with step_runs_refused():
        response = post(client, parent)
    assert response.status_code == 502
    assert Execution.objects.get().status == Status.FAILED  # the parent, alone


def test_new_execution_is_what_the_model_makes(team):
    auto = automation(team)
    values = {"status": Status.RUNNING, "trigger_output": {"a": [1]}, "is_test": True,
              "started_at": STARTED}  # fmt: skip
    fast, model = inserts.new_execution(auto, **values), Execution(automation=auto, **values)
    assert {k: v for k, v in vars(fast).items() if k != "_state"} == {
        k: v for k, v in vars(model).items() if k != "_state"
    }
    assert (fast._state.adding, fast._state.db) == (model._state.adding, model._state.db)
    assert fast.automation is auto
    # The defaults are shared between instances: none may be callable or mutable.
    for field in Execution._meta.concrete_fields:
        assert not field.has_default() or not callable(field.default)
        assert not isinstance(field.get_default(), dict | list | set)
    fast.save(force_insert=True)
    assert Execution.objects.get(pk=fast.pk).trigger_output == {"a": [1]}


# -- a run with sub automations: one statement on PostgreSQL ------------------------------

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'")


def child_of(auto: Automation, depth: int) -> Execution:
    return Execution(
        automation=auto, status=Status.SUCCEEDED, trigger_output={"depth": depth},
        depth=depth, started_at=STARTED, finished_at=STARTED,
    )  # fmt: skip


def tree(auto: Automation) -> list[inserts.Node]:
    """A root with two children, the first with a child of its own."""
    root, first, grandchild, second = (child_of(auto, d) for d in (0, 1, 2, 1))
    return [
        inserts.Node(root, run_values(2), -1, None),
        inserts.Node(first, run_values(1), 0, None),
        inserts.Node(grandchild, [], 1, None),
        inserts.Node(second, run_values(3), 0, None),
    ]


@postgresql_only
def test_a_tree_of_executions_is_written_in_one_statement_with_its_links(team):
    auto = automation(team)
    nodes = tree(auto)
    with CaptureQueriesContext(connection) as queries:
        inserts.insert_tree(nodes, expect=(auto.pk, auto.version))
    assert len(queries) == 1
    root, first, grandchild, second = (n.execution for n in nodes)
    stored = {e.pk: e for e in Execution.objects.all()}
    assert len(stored) == 4
    assert stored[root.pk].parent_id is None
    assert stored[first.pk].parent_id == stored[second.pk].parent_id == root.pk
    assert stored[grandchild.pk].parent_id == first.pk and first.pk == grandchild.parent_id
    for node in nodes:
        runs = list(StepRun.objects.filter(execution=node.execution).order_by("position"))
        assert [r.step_key for r in runs] == [v["step_key"] for v in node.runs]
        assert stored[node.execution.pk].trigger_output == node.execution.trigger_output


@postgresql_only
def test_a_stale_tree_writes_nothing(team):
    auto = automation(team)
    with pytest.raises(inserts.StalePlan):
        inserts.insert_tree(tree(auto), expect=(auto.pk, auto.version + 1))
    assert not Execution.objects.exists() and not StepRun.objects.exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_webhook_with_a_sub_automation_writes_its_log_in_one_statement(client, team):
    parent = parent_with_a_child(team)
    post(client, parent)  # the plans cached
    with CaptureQueriesContext(connection) as queries:
        assert post(client, parent).content == b"Hello"
    writes = [q["sql"] for q in queries if "INSERT" in q["sql"]]
    assert len(writes) == 1 and writes[0].startswith("WITH e0 AS (INSERT")  # was two
    assert Execution.objects.filter(parent__isnull=False).count() == 2


# Runs written together (engine/group_commit.py): one statement on PostgreSQL, one
# transaction on SQLite, each run's tree checked against its own version.


@postgresql_only
def test_runs_written_together_are_one_statement_each_checked_alone(team):
    auto, another = automation(team), automation(team)
    fresh, stale, other = tree(auto), tree(auto), tree(another)
    trees = [(fresh, (auto.pk, auto.version)), (stale, (auto.pk, auto.version + 1))]
    trees.append((other, (another.pk, another.version)))
    with CaptureQueriesContext(connection) as queries:
        assert inserts._insert_forest(trees) == [True, False, True]
    assert len(queries) == 1
    assert all(node.execution.pk is None for node in stale)
    for nodes in (fresh, other):
        root, first, grandchild, second = (node.execution for node in nodes)
        assert first.parent_id == second.parent_id == root.pk
        assert Execution.objects.get(pk=grandchild.pk).parent_id == first.pk
        for node in nodes:
            assert StepRun.objects.filter(execution=node.execution).count() == len(node.runs)
    assert Execution.objects.count() == 8 and StepRun.objects.count() == 12
    assert Execution.objects.filter(automation=another).count() == 4


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_runs_written_together_on_sqlite_are_each_checked_alone(team):
    auto = automation(team)
    rows = [execution(auto) for _ in range(3)]
    items = []
    for row, version in zip(rows, (auto.version, auto.version + 1, auto.version), strict=True):
        params = inserts._values(row, connection, None) + [auto.pk, version]
        runs = [inserts.row_values(r, inserts.model_recipe(StepRun, ("execution",), "sqlite"),
                                   connection) for r in run_values(2)]  # fmt: skip
        flat = [value for run in runs for value in (None, *run)]
        items.append((row, params, flat, 2, True))
    assert inserts._insert_sqlite_many(items) == [True, False, True]
    assert rows[1].pk is None and Execution.objects.count() == 2
    for row in (rows[0], rows[2]):
        assert StepRun.objects.filter(execution=row).count() == 2


def log_writers():
    """The group that writes the log on the database the suite runs on."""
    return inserts._together if connection.vendor == "postgresql" else inserts._sqlite_together


@pytest.fixture
def hold_first_batch(monkeypatch):
    """From its call on, the size of each batch the log's writers send; the first is
    held a moment, so that the writes arriving meanwhile queue and go together, as
    under load."""

    def hold() -> list[int]:
        group, sizes = log_writers(), []
        write = group._write

        def slow_first(items):
            sizes.append(len(items))
            if len(sizes) == 1:
                time.sleep(0.3)
            return write(items)

        monkeypatch.setattr(group, "_write", slow_first)
        monkeypatch.setattr(group, "_patience", 10)  # the others wait, then go together
        return sizes

    return hold


@pytest.mark.django_db(transaction=True)
def test_webhooks_at_the_same_moment_are_each_logged_once_with_their_steps(team, hold_first_batch):
    auto = automation(team, respond=True)
    post(Client(), auto)  # the plan cached
    batches = hold_first_batch()
    answers = []

    def webhook():
        try:
            answers.append(post(Client(), auto))
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [a.status_code for a in answers] == [200] * 6
    assert max(batches) > 1 and sum(batches) == 6
    logged = Execution.objects.exclude(pk=Execution.objects.order_by("pk").first().pk)
    assert sorted(logged.values_list("status", flat=True)) == [Status.SUCCEEDED] * 6
    assert StepRun.objects.filter(execution__in=logged).count() == 6


@pytest.mark.django_db(transaction=True)
def test_a_run_refused_in_a_batch_fails_alone_and_the_others_are_written(team, hold_first_batch):
    auto = automation(team)
    batches = hold_first_batch()
    outcomes = {}

    def log(key):
        runs = [{**run_values(1)[0], "step_key": key}]
        try:
            inserts.insert_execution(execution(auto), runs, expect=(auto.pk, auto.version))
            outcomes[key] = "written"
        except Exception as exc:  # noqa: BLE001 (what each met is the outcome)
            outcomes[key] = str(exc)
        finally:
            connection.close()

    with step_runs_refused("bad"):
        threads = [threading.Thread(target=log, args=(k,)) for k in ("a", "b", "bad", "c")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert max(batches) > 1
    assert outcomes.pop("bad").startswith("refused")
    assert outcomes == {"a": "written", "b": "written", "c": "written"}
    assert sorted(StepRun.objects.values_list("step_key", flat=True)) == ["a", "b", "c"]
    assert Execution.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_long_log_is_written_alone(team, monkeypatch):
    auto = automation(team)
    group = log_writers()
    monkeypatch.setattr(group, "submit", lambda *a, **k: pytest.fail("a long log was queued"))
    long = execution(auto)
    inserts.insert_execution(long, run_values(150), expect=(auto.pk, auto.version))
    assert StepRun.objects.filter(execution=long).count() == 150
