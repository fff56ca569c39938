"""Benchmark: the platform started as production would run it, driven by wrk.

For each database (PostgreSQL, SQLite) it migrates a fresh database, creates an active
HTTP trigger -> Response automation, starts gunicorn with DEBUG off, and drives both the
webhook and a plain "parse JSON, insert one row" Django view (the ceiling) at 32
concurrent connections. It then measures the engine's own overhead per step in process.

    make bench                      # both databases
    .venv/bin/python bench/run.py --only sqlite --duration 5

Needs wrk (Debian: apt-get install wrk) and, for PostgreSQL, a server reachable as
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765
RESULTS = ROOT / "bench" / "results"
LUA = """
wrk.method = "POST"
wrk.body = '{"text": "hello", "n": 1}'
wrk.headers["Content-Type"] = "application/json"
"""


def _env(database_url: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY="bench-" + "x" * 60,
        ENCRYPTION_KEYS="g5lp_XIvf57QnEMfLR5MAGKcLP537FKz4RXTBtcVrXA=",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        DATA_DIR=data_dir,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


PREPARE = """
from accounts.services import team_create
from automations import services
from django.contrib.auth import get_user_model
user = get_user_model().objects.create_user("bench")
team = team_create(name="Bench", owner=user)
project = services.project_create(team=team, name="Bench")
automation = services.automation_create(project=project, data={
    "name": "Echo",
    "trigger": {"connector": "http", "trigger": "request", "config": {"method": "POST"}},
    "steps": [{"key": "reply", "connector": "response", "action": "respond",
               "config": {"status": 200, "body": {"echo": "{{ trigger.body.text }}"}}}],
})
services.automation_activate(automation=automation)
print(automation.webhook_token)
"""


def _wrk(url: str, duration: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    if socket:
        errors += sum(int(g) for g in socket.groups())
    requests_total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": errors,
        "requests": requests_total,
    }


def _serve(env: dict[str, str], workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{PORT}",
         "-w", str(workers), "--access-logfile", "-", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/schema/", timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start:\n" + server.stderr.read().decode())


def _count_executions(env: dict[str, str]) -> int:
    code = "from automations.models import Execution; print(Execution.objects.count())"
    return int(_manage(env, "shell", "-c", code).strip().splitlines()[-1])


def bench_database(name: str, database_url: str, duration: int, workers: int) -> dict:
    data_dir = tempfile.mkdtemp(prefix=f"switchboard-bench-{name}-")
    env = _env(database_url, data_dir)
    _manage(env, "migrate", "-v0")
    token = _manage(env, "shell", "-c", PREPARE).strip().splitlines()[-1]
    server = _serve(env, workers)
    try:
        base = f"http://127.0.0.1:{PORT}"
        _wrk(f"{base}/hooks/{token}/", 2, 32)  # warm-up
        _wrk(f"{base}/bench/ceiling/", 2, 32)
        webhook = _wrk(f"{base}/hooks/{token}/", duration, 32)
        ceiling = _wrk(f"{base}/bench/ceiling/", duration, 32)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    logged = _count_executions(env)
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "database": name, "workers": workers, "duration_s": duration, "webhook": webhook,
        "ceiling": ceiling, "share_of_ceiling": round(webhook["rps"] / ceiling["rps"], 3),
        "executions_logged": logged,
    }  # fmt: skip


def _postgres_url() -> str:
    admin = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    subprocess.run(["psql", admin, "-qc", "DROP DATABASE IF EXISTS switchboard_bench"], check=True)
    subprocess.run(["psql", admin, "-qc", "CREATE DATABASE switchboard_bench"], check=True)
    return admin.rsplit("/", 1)[0] + "/switchboard_bench"


def engine_overhead(iterations: int = 2000) -> dict:
    """Per-step cost of the engine in process: references, validation, the action call
    and bookkeeping of a StepRun, with no database writes."""
    code = f"""
import time
from automations.engine.runner import Plan, Runner
from automations.models import Automation, Execution, Project, Step
from accounts.models import Team
team = Team(name="t", slug="t"); project = Project(team=team, name="p", pk=1)
automation = Automation(project=project, name="a", pk=1)
steps = [Step(automation=automation, key=f"s{{i}}", connector="response", action="respond",
              position=i, config={{"status": 200, "body": {{"echo": "{{{{ trigger.body.text }}}}",
              "n": "{{{{ trigger.body.n }}}}", "prev": "Step says {{{{ trigger.body.text }}}}"}}}})
         for i in range(10)]
plan = Plan(automation=automation, steps=steps)
def once():
    payload = {{"body": {{"text": "hi", "n": 1}}}}
    execution = Execution(automation=automation, trigger_output=payload)
    Runner(plan, execution, deadline=time.monotonic() + 60, flush_each_step=False).run(flush=False)
for _ in range(200):
    once()
start = time.perf_counter()
for _ in range({iterations}):
    once()
print((time.perf_counter() - start) / ({iterations} * len(steps)) * 1000)
"""
    env = _env("", tempfile.mkdtemp(prefix="switchboard-bench-engine-"))
    per_step_ms = float(_manage(env, "shell", "-c", code).strip().splitlines()[-1])
    return {"per_step_ms": round(per_step_ms, 4), "iterations": iterations, "steps": 10}


def engine_loop_overhead(iterations: int = 100) -> dict:
    """The same per-step cost inside a 100-item flow.for_each: each iteration's scope,
    position paths and step runs, and the loop's own results, with no database writes."""
    code = f"""
import time
from automations.engine.runner import Plan, Runner
from automations.models import Automation, Execution, Project, Step
from accounts.models import Team
team = Team(name="t", slug="t"); project = Project(team=team, name="p", pk=1)
automation = Automation(project=project, name="a", pk=1)
loop = Step(automation=automation, key="each", connector="flow", action="for_each", position=0,
            config={{"items": "{{{{ trigger.body.items }}}}", "max_items": 1000}})
body = Step(automation=automation, key="shape", connector="flow", action="transform", position=0,
            config={{"value": {{
                "item": "{{{{ loop.item }}}}", "at": "{{{{ loop.index }}}}",
                "text": "Item {{{{ loop.item.name }}}} of {{{{ trigger.body.n }}}}"}}}})
loop.nested, body.nested = {{"do": [body]}}, {{}}
plan = Plan(automation=automation, steps=[loop])
items = [{{"name": f"tag{{i}}"}} for i in range(100)]
def once():
    payload = {{"body": {{"items": items, "n": 100}}}}
    execution = Execution(automation=automation, trigger_output=payload)
    Runner(plan, execution, deadline=time.monotonic() + 60, flush_each_step=False).run(flush=False)
    assert execution.status == "succeeded", execution.error
for _ in range(5):
    once()
start = time.perf_counter()
for _ in range({iterations}):
    once()
print((time.perf_counter() - start) / ({iterations} * 101) * 1000)
"""
    env = _env("", tempfile.mkdtemp(prefix="switchboard-bench-loop-"))
    per_step_ms = float(_manage(env, "shell", "-c", code).strip().splitlines()[-1])
    return {"per_step_ms": round(per_step_ms, 4), "iterations": iterations, "items": 100}


def use_case_1(database_url: str, name: str) -> dict:
    data_dir = tempfile.mkdtemp(prefix=f"switchboard-bench-uc1-{name}-")
    env = _env(database_url, data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    _manage(env, "migrate", "-v0")
    result = subprocess.run(
        [sys.executable, "bench/use_case_1.py"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"use case 1 bench failed:\n{result.stdout}\n{result.stderr}")
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"database": name, **json.loads(result.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["postgres", "sqlite"])
    parser.add_argument("--duration", type=int, default=10)
    # SQLite lets one writer in at a time, and its lock waits back off in coarse steps:
    # fewer workers keep the tail short. PostgreSQL takes two per core.
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: per database)")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "runs": [],
    }
    if args.only in (None, "postgres"):
        workers = args.workers or cores * 2
        results["runs"].append(bench_database("postgres", _postgres_url(), args.duration, workers))
    if args.only in (None, "sqlite"):
        workers = args.workers or cores + 1
        results["runs"].append(bench_database("sqlite", "", args.duration, workers))
    results["engine"] = engine_overhead()
    results["engine_loop"] = engine_loop_overhead()
    results["use_case_1"] = [
        use_case_1(_postgres_url() if name == "postgres" else "", name)
        for name in ("postgres", "sqlite")
        if args.only in (None, name)
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    for run in results["runs"]:
        w, c = run["webhook"], run["ceiling"]
        print(
            f"{run['database']:9} ({run['workers']} workers) webhook {w['rps']:7.0f} req/s "
            f"p50 {w['p50_ms']:.1f} ms "
            f"p99 {w['p99_ms']:.1f} ms errors {w['errors']} | ceiling {c['rps']:7.0f} req/s "
            f"p99 {c['p99_ms']:.1f} ms | {run['share_of_ceiling']:.0%} of ceiling | "
            f"executions logged {run['executions_logged']}"
        )
    print(f"engine overhead per step: {results['engine']['per_step_ms']:.4f} ms")
    print(
        "engine overhead per step in a 100-item loop: "
        f"{results['engine_loop']['per_step_ms']:.4f} ms"
    )
    for row in results["use_case_1"]:
        print(
            f"use case 1 on {row['database']}: platform p50 {row['platform_p50_ms']} ms, "
            f"p90 {row['platform_p90_ms']} ms (stand-in p50 {row['standin_p50_ms']} ms, "
            f"total p50 {row['total_p50_ms']} ms)"
        )


if __name__ == "__main__":
    main()
