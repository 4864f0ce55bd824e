"""`python -m bench [part ...]` (redirect clicks coldstart auth stack counting feed chat
browser notify search):
run, save.

Each part's latest figures are kept in bench/results.json, so running one part
rewrites only its own rows; the section between the markers of docs/performance.md
is regenerated from all of them, with this machine's description.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import BASE_ENV, ROOT, UNWANTED_ENV, PartResult, Row, machine_info, now_utc

RESULTS = Path(__file__).with_name("results.json")
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ORDER = (
    "redirect",
    "clicks",
    "coldstart",
    "auth",
    "stack",
    "counting",
    "feed",
    "chat",
    "browser",
    "notify",
    "search",
)


def _prepare_environment() -> None:
    """What the template (and tests/conftest.py) set, before anything imports relay."""
    for name in UNWANTED_ENV:
        os.environ.pop(name, None)
    os.environ.update(BASE_ENV)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _parts() -> dict[str, Callable[[], PartResult]]:
    from bench import (
        auth,
        browser,
        chat,
        clicks,
        coldstart,
        counting,
        feed,
        notify,
        redirect,
        search,
        stack,
    )

    return {
        "redirect": redirect.run,
        "clicks": clicks.run,
        "coldstart": coldstart.run,
        "auth": auth.run,
        "stack": stack.run,
        "counting": counting.run,
        "feed": feed.run,
        "chat": chat.run,
        "browser": browser.run,
        "notify": notify.run,
        "search": search.run,
    }


def _ratio(row: Row) -> str:
    return "" if row.ratio is None else f"{row.ratio:.2f}x"


def _markdown(results: dict[str, PartResult], machine: dict[str, str]) -> str:
    lines = [
        BEGIN,
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"Redis {machine['redis']}, {machine['platform']}. Written {machine['date']}.",
        "",
        "| part | figure | measured | floor / baseline | ratio | target | verdict | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ORDER:
        if name not in results:
            continue
        for row in results[name].rows:
            cells = [
                f"{row.part} ({results[name].measured_at})",
                row.figure,
                row.value,
                row.floor,
                _ratio(row),
                row.target,
                f"**{row.verdict}**" if row.verdict else "",
                row.note,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for name in ORDER:
        if name in results and results[name].details:
            lines += ["", f"### Details: {name}", "", *results[name].details]
    lines += ["", END]
    return "\n".join(lines)


def _print_table(results: dict[str, PartResult]) -> None:
    rows = [row for name in ORDER if name in results for row in results[name].rows]
    width = max(len(row.figure) for row in rows)
    print()
    print(f"{'figure':<{width}}  {'measured':<28} {'floor/baseline':<28} {'ratio':>7}  verdict")
    for row in rows:
        value = row.value if len(row.value) <= 28 else row.value[:25] + "..."
        floor = row.floor if len(row.floor) <= 28 else row.floor[:25] + "..."
        print(f"{row.figure:<{width}}  {value:<28} {floor:<28} {_ratio(row):>7}  {row.verdict}")
        if row.note:
            print(f"{'':<{width}}    {row.note}")


def _write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## Latest figures\n\n" + section + "\n"
    DOC.write_text(text)


def main(argv: list[str]) -> int:
    _prepare_environment()
    parts = _parts()
    wanted = argv or list(ORDER)
    unknown = [name for name in wanted if name not in parts]
    if unknown:
        print(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}")
        return 2
    stored: dict[str, PartResult] = {}
    if RESULTS.exists():
        for data in json.loads(RESULTS.read_text()):
            stored[data["part"]] = PartResult.from_json(data)
    # The redirect runs first: it checks that its cache hits import no boto3,
    # which only means something in a process that has not imported it yet.
    for name in sorted(wanted, key=ORDER.index):
        print(f"bench: {name} ...", flush=True)
        outcome = parts[name]()
        outcome.measured_at = now_utc()
        stored[name] = outcome
        # Kept after each part: a part that fails later does not lose the others' figures.
        RESULTS.write_text(
            json.dumps([stored[n].to_json() for n in ORDER if n in stored], indent=1)
        )
    _print_table(stored)
    _write_doc(_markdown(stored, machine_info()))
    print(f"\nwritten: {DOC.relative_to(ROOT)} (between {BEGIN} and {END})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
