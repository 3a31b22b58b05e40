"""Every notebook in notebooks/ runs top to bottom (small sizes: TNRNN_QUICK=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))


def _builder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_builder", NOTEBOOK_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


def test_committed_notebooks_match_the_builder():
    """Every registered notebook is committed, with exactly the cells build.py writes."""
    build = _builder()
    assert sorted(build.NOTEBOOKS) == [p.stem for p in NOTEBOOKS]
    import nbformat

    for name, cells in build.NOTEBOOKS.items():
        committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4).cells
        expected = cells()
        assert [(c.cell_type, c.source) for c in committed] == [(c.cell_type, c.source) for c in expected], name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_was_executed_at_full_size(path):
    """The committed copy holds the outputs of a full-size run, without errors."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells), "not executed"
    outputs = [o for c in code_cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    first = "".join(o.get("text", "") for o in code_cells[0].get("outputs", []))
    assert "full size" in first
    assert path.stat().st_size < 1_500_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TNRNN_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert os.environ["TNRNN_QUICK"] == "1"
