"""Every timing the README and docs quote is the one in docs/measurements.json (written by a benchmark)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = json.loads((ROOT / "docs" / "measurements.json").read_text())
#: Pages a newcomer reads first: every duration on them must be a quoted measurement.
STRICT = [ROOT / "README.md", *(ROOT / "docs" / name for name in ("index.md", "getting-started.md", "notebooks.md"))]
QUOTE = re.compile(r"(\d+(?:\.\d+)? (?:s|min))\s*\(measurement `([a-z0-9-]+)`\)")
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|sec|seconds|min|minutes|h|hours)\b")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_entry_says_machine_load_threads_date_and_command():
    assert {"machine", "available_cpus", "python", "torch"} <= set(DATA["environment"])
    assert DATA["entries"], "no measurements recorded"
    for key, entry in DATA["entries"].items():
        assert {"command", "seconds", "threads", "load_before", "load_after", "date"} <= set(entry), key
        assert entry["seconds"] > 0 and entry["threads"] >= 1, key


def test_quotes_in_the_docs_are_the_files_values():
    bench = _load("bench_docs")
    quotes = [(page, text, key) for page in _pages() for text, key in QUOTE.findall(page.read_text())]
    assert quotes, "the docs quote no measurement"
    for page, text, key in quotes:
        assert key in DATA["entries"], f"{page.name} quotes unknown measurement {key!r}"
        assert text == bench.format_seconds(DATA["entries"][key]["seconds"]), (page.name, key, text)


def test_first_pages_quote_no_unmeasured_duration():
    for page in STRICT:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # examples' output is checked elsewhere
        for match in DURATION.finditer(text):
            tail = text[match.end():match.end() + 30]
            assert tail.lstrip().startswith("(measurement `"), (page.name, text[match.start() - 60:match.end() + 30])


def test_the_generated_tables_match_the_file():
    performance = (ROOT / "docs" / "performance.md").read_text()
    assert _load("bench_docs").table(DATA) in performance
    if "threads" in DATA:
        assert _load("bench_threads").threads_section(DATA["threads"]) in performance


@pytest.mark.parametrize("seconds, text", [(0.123, "0.12 s"), (4.04, "4.0 s"), (59.5, "60 s"), (600, "10.0 min")])
def test_format(seconds, text):
    assert _load("bench_docs").format_seconds(seconds) == text
