"""`make bench`: server times and throughput on a city-sized dataset.

Seeds (or reuses) bench/city.db with `seed-demo --scale city` (or the sizes given),
measures p50/p95 of repeated requests in-process, the time and peak memory of the
city member-level XLSX export in a separate process, and requests per second of two
pages under gunicorn (2 workers) driven by wrk with 10 connections from another
process. Prints a table and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PASSWORD = "demo2026"
TARGETS_MS = {
    "member home": 50,
    "approval queue": 50,
    "member home, built afresh": 50,
    "approval queue, built afresh": 50,
    "community tally": 150,
    "district tally": 150,
    "city tally": 300,
    "district shortfall": None,
}
TARGET_RPS = {"member home": 330, "approval queue": 250}


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "KMV_INSTANCE_DIR": str(BENCH / "instance"), "FLASK_APP": "app"})
    return env


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True)


def prepare(database_url: str, sizes: list[str]) -> None:
    """Seed the benchmark database unless it already holds a city."""
    env = _env(database_url)
    os.environ.update(env)
    _flask(env, "db", "upgrade")
    from kmvolunteer import create_app
    from kmvolunteer.org.demo import database_is_empty

    app = create_app()
    with app.app_context():
        empty = database_is_empty()
    if empty:
        print("Seeding the benchmark city (a few minutes the first time)…", flush=True)
        _flask(env, "seed-demo", *(sizes or ["--scale", "city"]))


def _fixtures(app):
    """Users and places to measure: a member, the busiest community and its secretary, a district."""
    from sqlalchemy import func, select

    from kmvolunteer.auth.models import Role, RoleGrant, User
    from kmvolunteer.extensions import db
    from kmvolunteer.org.models import Area, Member
    from kmvolunteer.service.models import ServiceRecord

    with app.app_context():
        busiest = db.session.execute(
            select(ServiceRecord.community_id, func.count())
            .where(ServiceRecord.status == "submitted")
            .group_by(ServiceRecord.community_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        community = db.session.get(Area, busiest[0])
        secretary = db.session.scalar(select(User).where(User.username == "bench_secretary"))
        if secretary is None:
            template = db.session.scalar(select(User).where(User.username == "city_org"))
            secretary = User(
                username="bench_secretary",
                display_name="基准测试社区书记",
                home_area=community,
                password_hash=template.password_hash,
            )
            secretary.grants.append(RoleGrant(role=Role.community_secretary.value, area=community))
            db.session.add(secretary)
            db.session.commit()
        member = db.session.scalar(
            select(User.username).join(Member, Member.user_id == User.id).order_by(Member.id).offset(1000).limit(1)
        )
        district = db.session.scalar(select(Area).where(Area.name == "五华区"))
        city = db.session.scalar(select(Area).where(Area.level == "city"))
        return {
            "member": member,
            "community": community.id,
            "community_name": community.name,
            "district": district.id,
            "city": city.id,
            "pending": busiest[1],
        }


def _login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, f"login as {username} failed"


def server_times(app, fx: dict, repeat: int) -> dict[str, dict[str, float]]:
    year = time.localtime().tm_year
    cases = [
        ("member home", fx["member"], "/"),
        ("approval queue", "bench_secretary", "/service/queue"),
        # Nothing kept (core/stamps.py): as the first request after a change to what the page shows.
        ("member home, built afresh", fx["member"], "/"),
        ("approval queue, built afresh", "bench_secretary", "/service/queue"),
        ("community tally", "city_org", f"/tallies/areas/{fx['community']}?year={year}"),
        ("district tally", "city_org", f"/tallies/areas/{fx['district']}?year={year}"),
        ("city tally", "city_org", f"/tallies/areas/{fx['city']}?year={year}"),
        ("district shortfall", "city_org", f"/tallies/areas/{fx['district']}/shortfall?year={year}"),
    ]
    results = {}
    for name, username, url in cases:
        client = app.test_client()
        _login(client, username)
        times = []
        for attempt in range(repeat + 2):
            if name.endswith("built afresh"):
                app.extensions["kmvolunteer.fragments"].clear()
            started = time.perf_counter()
            response = client.get(url)
            response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (name, response.status_code)
            if attempt >= 2:  # the first two warm the caches
                times.append(elapsed)
        times.sort()
        results[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "url": url,
        }
        print(f"  {name:<30} p50 {results[name]['p50_ms']:>7} ms   p95 {results[name]['p95_ms']:>7} ms", flush=True)
    return results


EXPORT_PROBE = """
import re, resource, sys, time
from kmvolunteer import create_app
app = create_app()
client = app.test_client()
page = client.get('/login').get_data(as_text=True)
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
client.post('/login', data={'username': 'city_org', 'password': 'demo2026', 'csrf_token': token})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
response = client.get(sys.argv[1])
size = sum(len(chunk) for chunk in response.response)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(response.status_code, size, round(elapsed, 2), round(peak / 1024, 1), round(before / 1024, 1))
"""


def export_probe(database_url: str, fx: dict) -> dict[str, float]:
    year = time.localtime().tm_year
    url = f"/tallies/areas/{fx['city']}?year={year}&table=members&format=xlsx"
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_PROBE, url],
        cwd=ROOT,
        env=_env(database_url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    status, size, seconds, peak_mb, base_mb = out
    assert status == "200", out
    print(
        f"  city member XLSX     {seconds} s, {int(size) / 1e6:.1f} MB file, peak memory {peak_mb} MB "
        f"(process at start {base_mb} MB)",
        flush=True,
    )
    return {"seconds": float(seconds), "peak_mb": float(peak_mb), "bytes": int(size), "url": url}


def _cookie_for(base: str, username: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"{base}/login", data=data)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def throughput(database_url: str, fx: dict, seconds: int) -> dict[str, dict[str, float]]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed for the throughput part (Debian package wrk; `make bench` installs it).")
    port = 8097
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:app",
        ],
        cwd=ROOT,
        env=_env(database_url),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        results = {}
        for name, username, path in (
            ("member home", fx["member"], "/"),
            ("approval queue", "bench_secretary", "/service/queue"),
        ):
            cookie = _cookie_for(base, username)
            out = subprocess.run(
                [wrk, "-t2", "-c10", f"-d{seconds}s", "-H", f"Cookie: {cookie}", f"{base}{path}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            results[name] = {"requests_per_s": rps, "non_2xx": int(errors.group(1)) if errors else 0}
            print(f"  {name:<20} {rps:>8.1f} requests/s with 10 connections", flush=True)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: bench/city.db, or bench/city-<sizes>.db for other sizes")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=10, help="length of each throughput run")
    for size in ("communities", "branches", "members"):
        parser.add_argument(f"--{size}", type=int, help=f"seed this many {size} instead of the city's size")
    args = parser.parse_args()
    sizes = [
        part
        for size in ("communities", "branches", "members")
        if getattr(args, size)
        for part in (f"--{size}", str(getattr(args, size)))
    ]
    name = "-".join(["city", *(flag[2] + value for flag, value in zip(sizes[0::2], sizes[1::2], strict=True))])
    args.database_url = args.database_url or f"sqlite:///{BENCH / name}.db"
    prepare(args.database_url, sizes)
    from kmvolunteer import create_app

    app = create_app()
    fx = _fixtures(app)
    print(
        f"\nServer times ({args.repeat} requests each, in-process; busiest community {fx['community_name']} "
        f"with {fx['pending']} entries waiting):"
    )
    times = server_times(app, fx, args.repeat)
    print("\nExport:")
    export = export_probe(args.database_url, fx)
    print("\nThroughput (gunicorn, 2 workers; wrk, 10 connections):")
    load = throughput(args.database_url, fx, args.seconds)
    results = {
        "database": args.database_url.split("://")[0],
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "server_times": times,
        "xlsx_export": export,
        "throughput": load,
        "targets": {"p95_ms": TARGETS_MS, "requests_per_s": TARGET_RPS, "xlsx": {"seconds": 20, "peak_mb": 300}},
    }
    (BENCH / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print("\n| measure | p50 | p95 | target |\n|---|---|---|---|")
    for name, row in times.items():
        target = TARGETS_MS.get(name)
        print(f"| {name} | {row['p50_ms']} ms | {row['p95_ms']} ms | {f'≤ {target} ms' if target else '—'} |")
    print(f"| city member XLSX | {export['seconds']} s | peak {export['peak_mb']} MB | ≤ 20 s, ≤ 300 MB |")
    for name, row in load.items():
        print(f"| {name} throughput | {row['requests_per_s']} req/s | | ≥ {TARGET_RPS[name]} req/s |")
    print(f"\nWritten to {BENCH / 'results.json'}")


if __name__ == "__main__":
    main()
