"""Simulated users hitting a running site, from a process of their own.

Members log service and claim needs, community secretaries approve singly and in
bulk, departments read tallies. Each user keeps its own cookie jar, reads the CSRF
token from the page like a browser, and records every answer. Run by loadtest.run.
"""

from __future__ import annotations

import json
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookiejar import CookieJar

TOKEN_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
APPROVE_RE = re.compile(r'action="/service/records/(\d+)/approve"')
SELECTED_COMMUNITY_RE = re.compile(
    r'name="community_id"[^>]*>(?:(?!</select>).)*?<option (?:selected value="(\d+)"|value="(\d+)" selected)', re.S
)
CLAIM_RE = re.compile(r'action="/needs/(\d+)/claim"')
PASSWORD = "demo2026"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list = field(default_factory=list)  # (action, seconds, status)
    acknowledged: list = field(default_factory=list)  # content markers of entries answered with success

    def add(self, action: str, seconds: float, status: int) -> None:
        with self.lock:
            self.samples.append((action, seconds, status))


class User:
    def __init__(self, base: str, username: str, tally: Tally) -> None:
        self.base, self.username, self.tally = base, username, tally
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)
        self.token = ""

    def request(self, action: str, path: str, data: dict | None = None) -> tuple[int, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrf_token": self.token}, doseq=True).encode()
        started = time.perf_counter()
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=30) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            status, text = 0, ""
        self.tally.add(action, time.perf_counter() - started, status)
        found = TOKEN_RE.search(text)
        if found:
            self.token = found.group(1)
        return status, text

    def login(self) -> bool:
        self.request("login page", "/login")
        status, _ = self.request("login", "/login", {"username": self.username, "password": PASSWORD})
        return status == 303


def member_loop(user: User, stop: float, rng: random.Random) -> None:
    while time.time() < stop:
        if rng.random() < 0.8:
            _status, form = user.request("log form", "/service/new")
            chosen = SELECTED_COMMUNITY_RE.search(form)
            marker = f"LT-{uuid.uuid4().hex[:12]}"
            day = date.today() - timedelta(days=rng.randint(0, 8))
            status, _ = user.request(
                "log service",
                "/service/new",
                {
                    "service_date": day.isoformat(),
                    "hours": "0.5",
                    "content": f"负载测试服务 {marker}",
                    "community_id": (chosen.group(1) or chosen.group(2)) if chosen else "",
                    "need_id": "",
                    "place": "社区",
                    "organizer": "",
                    "person_in_charge": "",
                    "late_reason": "",
                    "start_time": "",
                    "end_time": "",
                },
            )
            if status == 303:
                with user.tally.lock:
                    user.tally.acknowledged.append(marker)
        else:
            status, page = user.request("report-in page", "/report-in")
            needs = CLAIM_RE.findall(page)
            if needs:
                user.request("claim need", f"/needs/{rng.choice(needs)}/claim", {})


def secretary_loop(user: User, stop: float, rng: random.Random) -> None:
    while time.time() < stop:
        status, page = user.request("approval queue", "/service/queue")
        ids = APPROVE_RE.findall(page)
        if not ids:
            time.sleep(0.2)
            continue
        if rng.random() < 0.7:
            user.request("approve one", f"/service/records/{rng.choice(ids)}/approve", {})
        else:
            user.request(
                "approve bulk",
                "/service/queue/bulk",
                {"ids": rng.sample(ids, min(len(ids), 10)), "bulk_action": "approve", "bulk_reason": ""},
            )


def department_loop(user: User, stop: float, rng: random.Random, areas: list[int]) -> None:
    year = date.today().year
    while time.time() < stop:
        user.request("read tally", f"/tallies/areas/{rng.choice(areas)}?year={year}")


def main() -> None:
    plan = json.loads(sys.argv[1])
    tally = Tally()
    stop = time.time() + plan["seconds"]
    threads = []
    for index, (role, username) in enumerate(plan["users"]):
        user = User(plan["base"], username, tally)
        rng = random.Random(index)

        def run(user: User = user, role: str = role, rng: random.Random = rng) -> None:
            for _ in range(20):
                if user.login():
                    break
                time.sleep(0.5)
            if role == "member":
                member_loop(user, stop, rng)
            elif role == "secretary":
                secretary_loop(user, stop, rng)
            else:
                department_loop(user, stop, rng, plan["areas"])

        threads.append(threading.Thread(target=run, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=plan["seconds"] + 60)
    json.dump({"samples": tally.samples, "acknowledged": tally.acknowledged}, sys.stdout)


if __name__ == "__main__":
    main()
