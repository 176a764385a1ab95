"""Every UI string in the code has a Chinese translation in the catalogue.

The strings are extracted afresh from the code (as `make messages` does), so the
test fails as soon as someone adds a UI string and does not translate it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "kmvolunteer" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"

# %(name)s, %(num)d, %s, %.1f ... ; "%%" is a literal percent sign, not a placeholder.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
HAN = re.compile(r"[\u3400-\u9fff]")
# msgids whose translation may legitimately contain no Chinese character (e.g. a bare "CSV").
# Separators between translated words: their Chinese is full-width punctuation, not characters.
NO_HAN_ALLOWED: set[str] = {": ", ", ", "; "}


def _key(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def _placeholders(text: str) -> list[tuple[str, str]]:
    return sorted((m.group(1) or "", m.group(2)) for m in PLACEHOLDER.finditer(text) if m.group(2) != "%")


def _read(path: Path, **kwargs):
    with path.open("rb") as f:
        return read_po(f, **kwargs)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory):
    """The catalogue template as the code stands now."""
    pot = tmp_path_factory.mktemp("i18n") / "m.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            # Babel skips "_"-prefixed folders by default, which would miss templates/_macros/.
            "--ignore-dirs",
            ".*",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return _read(pot)


@pytest.fixture(scope="module")
def catalogue():
    return _read(PO, locale="zh_Hans_CN")


def test_extraction_found_the_ui(extracted) -> None:
    ids = {_key(m) for m in extracted if m.id}
    assert len(ids) > 100
    assert {"Log in", "There is a problem"} <= ids  # a template string and a macro string


def test_every_ui_string_has_a_chinese_translation(extracted, catalogue) -> None:
    missing = []
    for message in extracted:
        if not message.id:
            continue
        entry = catalogue.get(message.id)
        where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
        if entry is None:
            missing.append(f"{_key(message)!r} ({where}): not in messages.po")
        elif entry.fuzzy:
            missing.append(f"{_key(message)!r} ({where}): marked fuzzy")
        elif entry.pluralizable != message.pluralizable:
            missing.append(f"{_key(message)!r} ({where}): plural form differs from the code")
        elif not all(s.strip() for s in _strings(entry)):
            missing.append(f"{_key(message)!r} ({where}): empty msgstr")
        elif _key(message) not in NO_HAN_ALLOWED and not all(HAN.search(s) for s in _strings(entry)):
            missing.append(f"{_key(message)!r} ({where}): msgstr is not Chinese: {_strings(entry)!r}")
    assert not missing, (
        f"{len(missing)} UI string(s) lack a Chinese translation. Run `make messages`, then fill their msgstr "
        f"in {PO.name} (strings in templates/_macros/ need `--ignore-dirs '.*'` on the extract):\n  "
        + "\n  ".join(missing)
    )


def test_placeholders_are_kept(catalogue) -> None:
    wrong = []
    for message in catalogue:
        if not message.id or not any(_strings(message)):
            continue
        ids = list(message.id) if isinstance(message.id, tuple) else [message.id]
        expected = _placeholders(ids[-1])  # the plural msgid holds every placeholder
        for text in _strings(message):
            if _placeholders(text) != expected:
                wrong.append(f"{_key(message)!r}: {text!r} has {_placeholders(text)}, wants {expected}")
    assert not wrong, "Placeholders differ between msgid and msgstr:\n  " + "\n  ".join(wrong)


def test_catalogue_header_and_checks(catalogue) -> None:
    text = PO.read_text(encoding="utf-8")
    lost = "the .po header lost it (`pybabel update --omit-header` drops the whole header)"
    assert '"Language: zh_Hans_CN\\n"' in text, f"Language: {lost}"
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in text, f"Plural-Forms: {lost}"
    assert not catalogue.fuzzy, "the header entry is marked fuzzy"
    assert catalogue.num_plurals == 1
    problems = [f"{_key(m)!r}: {[str(e) for e in errors]}" for m, errors in catalogue.check()]
    assert not problems, "Babel's catalogue checks failed:\n  " + "\n  ".join(problems)
