"""The built documentation site: Sphinx roles rendered as links, the CLI reference generated from the parser."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROLE_TEXT = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):(?:<code>|`)")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists() and shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (the docs extra)")
    out = tmp_path_factory.mktemp("site")
    subprocess.run([str(mkdocs) if mkdocs.exists() else "mkdocs", "build", "--strict", "--quiet", "--site-dir",
                    str(out)], cwd=ROOT, check=True, capture_output=True, text=True)
    return out


@pytest.mark.slow
def test_no_sphinx_role_is_left_as_text(site):
    leftovers = {}
    for page in site.rglob("*.html"):
        found = ROLE_TEXT.findall(page.read_text(errors="replace"))
        if found:
            leftovers[str(page.relative_to(site))] = len(found)
    assert leftovers == {}
    api = (site / "api" / "ranks" / "index.html").read_text()
    assert re.search(r'<a [^>]*href="[^"]*#tnrnn\.[\w.]+"[^>]*><code>', api), "roles should become links"


@pytest.mark.slow
def test_cli_page_has_every_command_and_option(site):
    from tnrnn.cli import COMMANDS, build_parser

    html = (site / "cli" / "index.html").read_text()
    parser = build_parser()
    subs = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices
    for name in COMMANDS:
        assert f"tnrnn {name}</code>" in html, name
        for action in subs[name]._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help") and action.help != "==SUPPRESS==":
                    assert f"<code>{flag}</code>" in html, (name, flag)


@pytest.mark.slow
def test_api_index_lists_every_top_level_name(site):
    import tnrnn

    html = (site / "api" / "index.html").read_text()
    for name in tnrnn.__all__:
        assert f"tnrnn.{name}</code>" in html, name
