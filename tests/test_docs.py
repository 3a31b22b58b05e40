"""The project stands on its own: a short front page, a documentation site that covers every
public module, and no tracked file pointing at notes outside the repository or internal labels."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Internal notes and labels a user cannot follow.
FORBIDDEN = re.compile(r"SCIENCE\.md|DESIGN\.md|PERFORMANCE\.md|seeds/|seed 00[0-2]|\b002 (code|experiments)\b"
                       r"|the 002\b|Lens 2")

#: Files allowed to carry such references (none: the list must stay empty).
PENDING: set[str] = set()


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.splitlines() if name != "tests/test_docs.py"]


def test_readme_is_a_front_page():
    assert (ROOT / "README.md").stat().st_size <= 15_000


def test_no_tracked_file_names_outside_notes_or_internal_labels():
    offenders = set()
    for name in _tracked_files():
        path = ROOT / name
        if path.is_symlink() or not path.is_file() or path.suffix in {".png", ".svg", ".sqlite", ".pt"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if FORBIDDEN.search(text):
            offenders.add(name)
    assert offenders - PENDING == set(), "new references to notes outside the repository"
    assert PENDING - offenders == set(), "fixed: remove these from PENDING"


#: Modules of the command-line package that the API reference documents (the figure jobs).
DOCUMENTED_CLI_MODULES = {"tnrnn.cli.figure_jobs"}


def _public_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "tnrnn").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or "configs" in parts:
            continue
        if "cli" in parts and ".".join(parts) not in DOCUMENTED_CLI_MODULES:
            continue
        modules.add(".".join(parts))
    return modules


def test_api_reference_documents_every_public_module():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), flags=re.M))
    assert _public_modules() - documented == set()
    assert documented - _public_modules() == set()


def test_every_docs_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r"([\w/-]+\.md)\s*$", nav, flags=re.M))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if "figures" not in p.parts}
    assert pages == listed


def test_the_test_command_builds_the_site_strictly():
    makefile = (ROOT / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "mkdocs build --strict" in test_recipe and "pytest" in test_recipe
    assert "make test" in (ROOT / ".ci" / "run").read_text()
