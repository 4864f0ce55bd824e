"""The browser client's files as DESIGN's "Browser client" section asks: user content
only ever as text (no HTML sinks anywhere in the app), no inline script (a CSP without
`unsafe-inline` runs it), every module import resolves, and the whole first load is
under 150 KB gzipped."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(")
IMPORT = re.compile(r"""^\s*import\s[^"']*["']([^"']+)["']""", re.MULTILINE)
BUDGET = 150 * 1024


def scripts() -> list[Path]:
    return sorted(WEB.rglob("*.js"))


def test_no_script_puts_markup_into_the_page() -> None:
    found = {p.name: SINKS.findall(p.read_text()) for p in scripts()}
    assert {name: sinks for name, sinks in found.items() if sinks} == {}


def test_the_page_has_no_inline_script_or_style() -> None:
    page = (WEB / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert " style=" not in page and "<style" not in page
    assert re.search(r"\son[a-z]+=", page) is None


def test_every_module_import_names_a_file() -> None:
    for script in scripts():
        for target in IMPORT.findall(script.read_text()):
            assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"


def test_the_first_load_is_under_150_kb_compressed() -> None:
    loaded = [p for p in WEB.rglob("*") if p.is_file()]
    size = sum(len(gzip.compress(p.read_bytes(), 9)) for p in loaded)
    assert size < BUDGET, f"{size} bytes gzipped"
