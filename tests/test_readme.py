"""The command-line examples of the README and of the documentation (``docs/*.md``) print
what they say they print.

Python examples there run as doctests (``--doctest-glob=*.md``). Here every
```console block is run: a line starting with ``$ tnrnn`` is a command, the lines after it
are its expected output, compared with doctest's ELLIPSIS matching (``...`` stands for
anything).
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def console_examples(pages=PAGES) -> list[tuple[str, str]]:
    examples = []
    blocks = [b for page in pages for b in re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.S)]
    for block in blocks:
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append((command, "\n".join(expected)))
                command, expected = line[2:], []
            else:
                expected.append(line)
        if command:
            examples.append((command, "\n".join(expected)))
    return examples


def test_readme_has_console_examples():
    assert len(console_examples([README])) >= 1
    assert len(console_examples()) >= 10


@pytest.mark.parametrize("command, expected", console_examples(), ids=lambda v: v[:60])
def test_console_example(command, expected, tmp_path):
    argv = shlex.split(command)
    assert argv[0] == "tnrnn", "README console examples must call tnrnn"
    proc = subprocess.run([sys.executable, "-m", "tnrnn", *argv[1:]], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    checker = doctest.OutputChecker()
    ok = checker.check_output(expected.strip() + "\n", proc.stdout.strip() + "\n", doctest.ELLIPSIS)
    assert ok, f"the docs say:\n{expected}\n\nbut `{command}` printed:\n{proc.stdout}"
