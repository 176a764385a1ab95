"""`make loadtest`: 50 simulated users for 60 s against gunicorn (2 workers), with faults.

For SQLite and for PostgreSQL in turn: build a copy of the demo city, start the site
under gunicorn, drive it from another process (members log service and claim needs,
secretaries approve singly and in bulk, departments read tallies), kill -9 one worker
in the middle; then a second, shorter run during which the whole server is stopped
with SIGTERM and started again. Afterwards it checks that every entry that got a
success answer is in the database, that no entry was approved twice, that the
counters (the kept tallies) equal a recount, that the members' home pages served after the load equal
the same pages built afresh, that SQLite's integrity check is ok and that no request
failed with a server error or "database is locked". Prints the figures and writes
bench/loadtest.json; exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/kmv_loadtest"


def _env(url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "KMV_INSTANCE_DIR": str(instance), "FLASK_APP": "app", "SECRET_KEY": "l" * 40})
    return env


def _fresh_database(engine: str, workdir: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{workdir / 'loadtest.db'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS kmv_loadtest WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE kmv_loadtest"))
    admin.dispose()
    return PG_URL


def _prepare(env: dict[str, str]) -> dict:
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "flask", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    script = """
import json
from sqlalchemy import func, select
from kmvolunteer import create_app
from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import ReportIn
app = create_app()
with app.app_context():
    rows = db.session.execute(select(User.username, ReportIn.community_id).join(Member, Member.user_id == User.id)
        .join(ReportIn, (ReportIn.member_id == Member.id) & (ReportIn.status == "confirmed")
              & (ReportIn.kind == "member"))
        .where(User.username.like("1%")).order_by(ReportIn.community_id, User.id)).all()
    by_community = {}
    for username, community_id in rows:
        by_community.setdefault(community_id, []).append(username)
    busiest = sorted(by_community, key=lambda c: -len(by_community[c]))[:10]
    template = db.session.scalar(select(User).where(User.username == "city_org"))
    secretaries = []
    for index, community_id in enumerate(busiest):
        name = f"lt_secretary_{index}"
        user = User(username=name, display_name=name, home_area_id=community_id, password_hash=template.password_hash)
        user.grants.append(RoleGrant(role=Role.community_secretary.value, area_id=community_id))
        db.session.add(user)
        secretaries.append(name)
    db.session.commit()
    members = [u for c in busiest for u in by_community[c]][:35]
    areas = list(db.session.scalars(select(Area.id).where(Area.level.in_(("city", "district", "subdistrict")))))
    print(json.dumps({"members": members, "secretaries": secretaries, "areas": areas[:20]}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.monotonic()
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                "--bind",
                f"127.0.0.1:{self.port}",
                "app:app",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=handle,
        )
        self.wait_ready()
        return time.monotonic() - started

    def wait_ready(self, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz")

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def _drive(base: str, plan: dict, seconds: int) -> subprocess.Popen:
    users = (
        [("member", u) for u in plan["members"]]
        + [("secretary", u) for u in plan["secretaries"]]
        + [("department", u) for u in ("city_org", "wuhua_org", "city_org", "wuhua_org", "city_org")]
    )
    payload = json.dumps({"base": base, "users": users[:50], "seconds": seconds, "areas": plan["areas"]})
    return subprocess.Popen(
        [sys.executable, "-m", "loadtest.driver", payload], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )


def _verify(env: dict[str, str], markers: list[str], engine: str) -> dict:
    script = """
import json, sys
from sqlalchemy import func, select, text
from kmvolunteer import create_app
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from kmvolunteer.service.models import ServiceRecord
markers = json.load(sys.stdin)
app = create_app()
with app.app_context():
    contents = set(db.session.scalars(select(ServiceRecord.content).where(ServiceRecord.content.like("%LT-%"))))
    found = {m for m in markers if any(m in c for c in contents)}
    twice = db.session.execute(select(AuditEntry.object_id, func.count()).where(
        AuditEntry.action == "service.approved").group_by(AuditEntry.object_id).having(func.count() > 1)).all()
    from kmvolunteer.tallies import rollup
    kept_differ = sum(sum(rollup.differences(year).values()) for year in rollup.open_kept_years())
    integrity = "n/a"
    if db.engine.dialect.name == "sqlite":
        integrity = db.session.execute(text("PRAGMA integrity_check")).scalar_one()
    print(json.dumps({"acknowledged": len(markers), "lost": len(markers) - len(found),
                      "approved_twice": len(twice), "kept_tallies_differ": kept_differ, "integrity": integrity,
                      "entries_logged_in_db": len(contents)}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        input=json.dumps(markers),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


FRESH_PAGES = """
import hashlib, json, re, sys
from kmvolunteer import create_app
app = create_app()
token = re.compile(r'(csrf_token" type="hidden" value="|csrf_token" value="|"X-CSRFToken": ")[^"]+')
digests = {}
for username in json.load(sys.stdin):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": "demo2026", "csrf_token": csrf},
                follow_redirects=True)  # as the browser does, which also shows the welcome message once
    html = token.sub(r"\\1", client.get("/").get_data(as_text=True))
    digests[username] = hashlib.sha256(html.encode()).hexdigest()
print(json.dumps(digests))
"""


def _stale_home_pages(base: str, env: dict[str, str], usernames: list[str]) -> int:
    """Members' home pages as the server serves them after the load (kept sections included) that
    differ from the same pages built afresh in a process with nothing kept."""
    import hashlib
    import re
    from http.cookiejar import CookieJar

    token = re.compile(r'(csrf_token" type="hidden" value="|csrf_token" value="|"X-CSRFToken": ")[^"]+')
    served = {}
    for username in usernames:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"{base}/login").read().decode()
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        opener.open(
            f"{base}/login",
            data=urllib.parse.urlencode({"username": username, "password": "demo2026", "csrf_token": csrf}).encode(),
        )
        html = token.sub(r"\1", opener.open(f"{base}/").read().decode())
        served[username] = hashlib.sha256(html.encode()).hexdigest()
    built = subprocess.run(
        [sys.executable, "-c", FRESH_PAGES],
        cwd=ROOT,
        env=env,
        input=json.dumps(usernames),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fresh_pages = json.loads(built.strip().splitlines()[-1])
    return sum(1 for username in usernames if served[username] != fresh_pages[username])


def _summarise(samples: list, seconds: float) -> dict:
    by_action: dict[str, list] = defaultdict(list)
    for action, elapsed, status in samples:
        by_action[action].append((elapsed, status))
    rows = {}
    for action, values in sorted(by_action.items()):
        times = sorted(v[0] * 1000 for v in values)
        rows[action] = {
            "count": len(values),
            "per_s": round(len(values) / seconds, 1),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "server_errors": sum(1 for v in values if v[1] >= 500),
            "no_answer": sum(1 for v in values if v[1] == 0),
        }
    return rows


def run_engine(engine: str, seconds: int, port: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"kmv-loadtest-{engine}-"))
    url = _fresh_database(engine, workdir)
    env = _env(url, workdir)
    print(f"\n== {engine}: preparing the demo city", flush=True)
    plan = _prepare(env)
    log = workdir / "gunicorn.log"
    server = Server(env, port, log)
    server.start()
    base = f"http://127.0.0.1:{port}"

    print(f"== {engine}: 50 users for {seconds} s; one worker is killed with SIGKILL at {seconds // 3} s", flush=True)
    driver = _drive(base, plan, seconds)
    time.sleep(seconds // 3)
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    first = json.loads(driver.communicate(timeout=seconds + 120)[0])
    stale_pages = _stale_home_pages(base, env, plan["members"])

    print(f"== {engine}: 15 s more; the whole server is stopped with SIGTERM at 7 s and started again", flush=True)
    driver = _drive(base, plan, 15)
    time.sleep(7)
    server.stop()
    restart_seconds = server.start()
    second = json.loads(driver.communicate(timeout=200)[0])
    server.stop()

    checks = _verify(env, first["acknowledged"] + second["acknowledged"], engine)
    log_text = log.read_text(errors="replace")
    checks["database_locked"] = log_text.count("database is locked")
    checks["restart_seconds"] = round(restart_seconds, 2)
    checks["killed_worker"] = victim
    checks["stale_home_pages"] = stale_pages
    load = _summarise(first["samples"], seconds)
    shutdown = _summarise(second["samples"], 15)
    checks["server_errors"] = sum(r["server_errors"] for r in load.values()) + sum(
        r["server_errors"] for r in shutdown.values()
    )
    return {
        "engine": engine,
        "load": load,
        "during_restart": shutdown,
        "checks": checks,
        "throughput_per_s": round(len(first["samples"]) / seconds, 1),
    }


def _print(result: dict) -> None:
    print(f"\n{result['engine']}: {result['throughput_per_s']} requests/s overall")
    print("| action | requests | per s | p50 ms | p95 ms | 5xx | no answer |\n|---|---|---|---|---|---|---|")
    for action, row in result["load"].items():
        print(
            f"| {action} | {row['count']} | {row['per_s']} | {row['p50_ms']} | {row['p95_ms']} | "
            f"{row['server_errors']} | {row['no_answer']} |"
        )
    print("checks:", json.dumps(result["checks"], ensure_ascii=False))


def _failed(result: dict) -> list[str]:
    c = result["checks"]
    problems = []
    if c["lost"]:
        problems.append(f"{c['lost']} acknowledged entries are missing")
    if c["approved_twice"]:
        problems.append(f"{c['approved_twice']} entries approved twice")
    if c["kept_tallies_differ"]:
        problems.append(f"{c['kept_tallies_differ']} kept tally facts or cells differ from a recount")
    if c["stale_home_pages"]:
        problems.append(f"{c['stale_home_pages']} home pages served differ from the same pages built afresh")
    if c["integrity"] not in ("ok", "n/a"):
        problems.append(f"integrity check: {c['integrity']}")
    if c["database_locked"]:
        problems.append(f"{c['database_locked']} 'database is locked' errors")
    if c["server_errors"]:
        problems.append(f"{c['server_errors']} server errors")
    if c["restart_seconds"] > 10:
        problems.append(f"restart took {c['restart_seconds']} s")
    return [f"{result['engine']}: {p}" for p in problems]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--engines", nargs="*", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = [run_engine(engine, args.seconds, 8091 + index) for index, engine in enumerate(args.engines)]
    for result in results:
        _print(result)
    out = ROOT / "bench" / "loadtest.json"
    out.write_text(
        json.dumps(
            {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": args.seconds, "results": results},
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"\nWritten to {out}")
    problems = [p for r in results for p in _failed(r)]
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
        raise SystemExit(1)
    print("All load and fault checks passed.")


if __name__ == "__main__":
    main()
