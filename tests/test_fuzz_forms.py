"""Property-based fuzzing of every form the site shows.

The forms are found by crawling the site as several roles, so a new form is fuzzed
without anyone listing it. Each is posted random values (long text, control
characters, emoji, mixed scripts, empty values, huge or negative numbers,
impossible dates): never a 5xx, and a refusal (4xx) writes nothing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import row_count

# city_org goes last: its forms may disable or reset the other accounts.
ROLES = ["branch_secretary", "community_secretary", "13800000001", "city_org"]
SKIP_ACTIONS = ("/logout", "/language")  # nothing to fuzz: they take no free input
MAX_PAGES = 60

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(min_size=300, max_size=3000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\u202e\u0000\r\n",
            "😀👍🏽",
            "Ελληνικά中文العربية",
            "<script>x</script>",
            "=1+2",
            "-1",
            "0",
            "NaN",
            "inf",
            "1e309",
            "99999999999999999999",
            "-0.5",
            "0.25",
            "2026-02-30",
            "0000-00-00",
            "9999-12-31",
            "13:61",
            "../../etc/passwd",
            "' OR 1=1 --",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str),
)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []
        self.links: list[str] = []
        self._current: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            self._current = (a.get("action") or "", [])
            self.forms.append(self._current)
        elif (
            tag in ("input", "select", "textarea")
            and self._current is not None
            and a.get("name")
            and a.get("type") not in ("submit", "button")
            and a["name"] != "csrf_token"
        ):
            self._current[1].append(a["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _crawl(browser) -> dict[str, set[str]]:
    forms: dict[str, set[str]] = {}
    queue, seen = ["/"], set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = browser.get(url)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        parser = _Forms()
        parser.feed(response.get_data(as_text=True))
        for action, names in parser.forms:
            path = urlsplit(urljoin(url, action)).path
            if not path.startswith(SKIP_ACTIONS):
                forms.setdefault(path, set()).update(names)
        for href in parser.links:
            target = urlsplit(urljoin(url, href))
            downloads = re.search(r"\.(xlsx|csv|pdf)$", target.path) or re.search(r"(export|format)=", target.query)
            if not target.netloc and target.path.startswith("/") and not downloads:
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return forms


def test_every_form_survives_random_input(world, login):
    fuzzed = 0
    for username in ROLES:
        user = login(username)
        forms = _crawl(user)
        for action, names in sorted(forms.items()):
            fields = sorted(names - {"file"})
            if not fields:
                continue

            @settings(
                max_examples=12,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            )
            @given(values=st.fixed_dictionaries({name: nasty_text for name in fields}))
            def post_random(values):
                before = row_count()
                response = user.post(action, values)
                assert response.status_code < 500, (action, values, response.status_code)
                if 400 <= response.status_code < 500:
                    assert row_count() == before, (action, values)

            post_random()
            fuzzed += 1
    assert fuzzed >= 5
