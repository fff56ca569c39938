"""Soak: mixed load on the platform run as production runs it, with workers killed.

    make soak                               # 10 minutes
    SOAK_SECONDS=30 SOAK_KILL_EVERY=10 .venv/bin/python bench/soak.py

On a fresh PostgreSQL database (SOAK_DB, created and dropped here through SOAK_PG_URL)
it starts a private redis-server, gunicorn with gunicorn.conf.py and DEBUG=false, and a
qcluster (`manage.py qcluster`, SOAK_WORKERS workers), all on 127.0.0.1 with random
ports. For SOAK_SECONDS it sends, SOAK_RATE times a second each:
- sync webhooks: HTTP trigger -> Response, answered inline by gunicorn;
- queued webhooks: HTTP trigger -> GET then POST to a local stand-in service;
- parent webhooks: HTTP trigger -> Sub Automation calling a child automation of another
  team, whose step POSTs to the stand-in.
Every request carries its own delivery id `d`, which the runs pass to the stand-in in
the URL, so the stand-in counts each side effect per delivery. A 503 is retried later
with the same `d` (honouring Retry-After up to 10 s), as a service would.

Every SOAK_KILL_EVERY seconds one worker process is killed with SIGKILL (one waiting on
the stand-in when there is one), and once, halfway, the whole cluster is killed and
started again. After the load it waits for recovery (leases, dispatch) until nothing
is queued or running, at most SOAK_DRAIN_SECONDS, then counts:
- accepted: answered 200/202 (or 502/504 with an execution id);
- finished: executions of accepted deliveries by final status; `interrupted` are those
  failed with "The worker stopped during step ..." (a kill during a side effect: failed
  for a person to check, as designed), not lost;
- lost: an accepted delivery with no execution, or whose execution is not final;
- duplicated: a delivery with two executions, or a side effect made twice;
- stuck: any execution still queued or running;
- unexplained: a run that failed for another reason, a run that succeeded without its
  side effect, an answer that was neither accepted nor a 503.
It writes bench/results/soak.json and exits non-zero unless lost, duplicated, stuck and
unexplained are all zero. SOAK_KEEP=1 keeps the database and the logs for a look.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
import psycopg
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.soak_load import KINDS, Load  # noqa: E402
from bench.soak_platform import Platform, Service  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# Recovery as short as the code allows, so that the drain after the load is short too.
RECOVERY = {
    "LEASE_SECONDS": "10",
    "HOUSEKEEPING_INTERVAL": "2",
    "DISPATCH_AFTER": "10",
    "RUN_TIME_LIMIT": "120",
}


@dataclass
class Options:
    seconds: float = float(os.environ.get("SOAK_SECONDS", "600"))
    rate: float = float(os.environ.get("SOAK_RATE", "4"))
    kill_every: float = float(os.environ.get("SOAK_KILL_EVERY", "60"))
    workers: int = int(os.environ.get("SOAK_WORKERS", "4"))
    drain: float = float(os.environ.get("SOAK_DRAIN_SECONDS", "180"))
    admin_url: str = os.environ.get("SOAK_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database: str = os.environ.get("SOAK_DB", "switchboard_soak")
    keep: bool = os.environ.get("SOAK_KEEP", "") in ("1", "true", "yes")
    results: Path = Path(os.environ.get("SOAK_RESULTS", str(RESULTS / "soak.json")))


# -- the database and the automations ---------------------------------------------------


def create_database(options: Options) -> str:
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{options.database}"')
    return options.admin_url.rsplit("/", 1)[0] + "/" + options.database


def drop_database(options: Options) -> None:
    with psycopg.connect(options.admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{options.database}" WITH (FORCE)')


def platform_env(database_url: str, data_dir: Path, options: Options, service: Service) -> dict:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on the loopback: the HTTPS switches are off for the soak only.
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        PROMETHEUS_MULTIPROC_DIR=str(data_dir / "metrics"),
        WEB_WORKERS="2",
        Q_WORKERS=str(options.workers),
        # The stand-in on the loopback, and only its port.
        OUTBOUND_ALLOWLIST=f"127.0.0.1:{service.port}",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        **RECOVERY,
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")


# -- faults -----------------------------------------------------------------------------


def fault_schedule(seconds: float, every: float) -> tuple[list[float], float]:
    """Worker kills halfway between whole intervals (30 s, 90 s, ... for one a minute)
    and the cluster kill on the interval boundary nearest the middle, between two."""
    kills, t = [], every / 2
    while t < seconds:
        kills.append(t)
        t += every
    cluster = max(every, round(seconds / every / 2) * every)
    return kills, min(cluster, seconds - every / 4)


def run_faults(platform_: Platform, service: Service, options: Options, start: float) -> dict:
    kills, cluster_at = fault_schedule(options.seconds, options.kill_every)
    events = sorted([(t, "worker") for t in kills] + [(cluster_at, "cluster")])
    done: dict[str, Any] = {"worker_kills": [], "cluster_kills": 0}
    for at, what in events:
        pause = start + at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if what == "worker":
            killed = platform_.kill_worker(service)
            if killed:
                killed["at"] = round(time.monotonic() - start, 1)
                done["worker_kills"].append(killed)
        else:
            done["cluster_mid_call"] = platform_.kill_cluster(service)
            time.sleep(1.0)
            platform_.start_cluster()
            done["cluster_kills"] += 1
            done["cluster_killed_at"] = round(time.monotonic() - start, 1)
    return done


# -- main -------------------------------------------------------------------------------


def main() -> int:
    options = Options()
    data_dir = Path(tempfile.mkdtemp(prefix="switchboard-soak-"))
    logs = data_dir / "logs"
    logs.mkdir()
    (data_dir / "metrics").mkdir()
    database_url = create_database(options)
    platform_ = None
    try:
        with Service() as service:
            env = platform_env(database_url, data_dir, options, service)
            manage(env, "migrate", "-v0")
            manage(env, "collectstatic", "--noinput", "-v0")
            # This process reads the database (the automations, the count) as the
            # platform would, with quieter logs.
            os.environ.update(env, LOG_LEVEL="WARNING")
            django.setup()
            # Only now: its modules need the settings that this environment makes.
            from bench import soak_records

            tokens = soak_records.create_automations(service)
            platform_ = Platform(env, logs)
            platform_.start()
            print(
                f"soak: {options.seconds:.0f} s, {options.rate:g}/s of each of {', '.join(KINDS)};"
                f" a worker killed every {options.kill_every:g} s; logs in {logs}",
                flush=True,
            )
            load = Load(platform_.base_url, tokens, options.rate)
            start = time.monotonic()
            threads = load.run(options.seconds)
            faults = run_faults(platform_, service, options, start)
            for thread in threads[:-1]:
                thread.join()
            load.stop.set()
            threads[-1].join()
            loaded = round(time.monotonic() - start, 1)
            drained = soak_records.drain(options.drain)
            figures = soak_records.count(load.deliveries, service)
            log_text = (logs / "qcluster.log").read_text(errors="replace")
            report = {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}, "
                f"PostgreSQL {_server_version(database_url)}",
                "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "seconds": options.seconds,
                "load_seconds": loaded,
                "drain_seconds": drained,
                "rate_per_kind": options.rate,
                "workers": options.workers,
                "settings": RECOVERY,
                "kills": {
                    "worker": len(faults["worker_kills"]),
                    "worker_mid_call": sum(k["mid_call"] for k in faults["worker_kills"]),
                    "cluster": faults["cluster_kills"],
                    "cluster_mid_call": faults.get("cluster_mid_call", False),
                    "detail": faults,
                },
                "resumed_after_kill": log_text.count("lost its worker; resumed"),
                "failed_after_kill": log_text.count("lost its worker during step"),
                "worker_log_tracebacks": log_text.count("Traceback"),
                **figures,
            }
    finally:
        if platform_ is not None:
            platform_.stop()
        if not options.keep:
            if apps.ready:
                connections.close_all()
            drop_database(options)
            shutil.rmtree(data_dir, ignore_errors=True)
    report["ok"] = not (
        report["lost"] or report["duplicated"] or report["stuck"] or report["unexplained"]
    )
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps(report, indent=2))
    print_report(report, options.results)
    return 0 if report["ok"] else 1


def _server_version(database_url: str) -> str:
    with psycopg.connect(database_url) as db:
        return db.execute("SHOW server_version").fetchone()[0].split()[0]


def print_report(report: dict[str, Any], path: Path) -> None:
    kills = report["kills"]
    finished = ", ".join(f"{k} {v}" for k, v in sorted(report["finished"].items()))
    print(f"machine      {report['machine']}  ({report['date']})")
    print(f"load         {report['load_seconds']} s, drained in {report['drain_seconds']} s")
    print(
        f"kills        {kills['worker']} worker (SIGKILL; {kills['worker_mid_call']} mid-call),"
        f" {kills['cluster']} whole cluster{' (mid-call)' if kills['cluster_mid_call'] else ''}"
    )
    print(
        f"requests     {report['requests']} for {report['sent']} deliveries,"
        f" {report['refused_503']} answered 503 and retried"
    )
    print(f"accepted     {report['accepted']}  {report['accepted_by_kind']}")
    print(
        f"finished     {finished}  (interrupted: {report['interrupted']}; resumed after a"
        f" kill: {report['resumed_after_kill']})"
    )
    print(f"children     {report['children']}")
    for name in ("lost", "duplicated", "stuck", "unexplained"):
        print(f"{name:12} {report[name]}")
    for name, examples in report["examples"].items():
        for example in examples:
            print(f"  {name}: {example}")
    print("OK" if report["ok"] else "FAILED", f"-> {path}")


if __name__ == "__main__":
    sys.exit(main())
