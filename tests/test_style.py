"""Figures go through tnrnn.style: no backend switch, no savefig elsewhere, one palette, intervals as bars."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tnrnn import style

PACKAGE = Path(__file__).resolve().parents[1] / "tnrnn"


def _calls(path: Path) -> list[tuple[int, str]]:
    """(line, what) for every matplotlib.use(...), .savefig(...) and pyplot import in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "savefig":
                found.append((node.lineno, "savefig"))
            if node.func.attr == "use" and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib":
                found.append((node.lineno, "matplotlib.use"))
        if isinstance(node, ast.Import) and any(a.name == "matplotlib.pyplot" for a in node.names):
            found.append((node.lineno, "import matplotlib.pyplot"))
        if isinstance(node, ast.ImportFrom) and node.module == "matplotlib" and any(
                a.name == "pyplot" for a in node.names):
            found.append((node.lineno, "from matplotlib import pyplot"))
    return found


def test_the_scan_finds_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfig.savefig('x')\n")
    assert sorted(what for _, what in _calls(bad)) == ["import matplotlib.pyplot", "matplotlib.use", "savefig"]


def test_no_library_module_switches_the_backend_or_saves_outside_the_style_module():
    offenders = {str(path.relative_to(PACKAGE.parent)): _calls(path) for path in sorted(PACKAGE.rglob("*.py"))
                 if path.name != "style.py" or path.parent != PACKAGE}
    assert {name: calls for name, calls in offenders.items() if calls} == {}


def test_drawing_keeps_the_users_backend_and_pyplot_state(tmp_path):
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
plt.figure()
from tnrnn.tables.compare import compare
from tnrnn.tables.depth import depth_table, plot_depth_table
fig = compare(2, 2, [1, 2], [2, 4], progress=False).plot({str(tmp_path / 'c.png')!r})
plot_depth_table(depth_table(2, 2, [1, 2], [2, 4], progress=False), {str(tmp_path / 'd.png')!r})
from matplotlib.figure import Figure
print(matplotlib.get_backend(), len(plt.get_fignums()), isinstance(fig, Figure), fig._repr_png_()[:4] == b"\\x89PNG")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the user's backend and pyplot figures untouched; the returned Figure shows itself in Jupyter
    assert out.stdout.split() == ["svg", "1", "True", "True"]
    assert (tmp_path / "c.png").stat().st_size > 5_000 and (tmp_path / "d.png").stat().st_size > 5_000


def test_one_palette_and_label_form():
    assert [style.depth_color(d) for d in (1, 2, 3)] == ["#0072B2", "#E69F00", "#009E73"]
    assert style.depth_label(3) == "depth 3"


def test_an_interval_is_a_bar_between_its_ends_not_a_point():
    fig, ax = style.figure()
    style.interval(ax, [20], [1], [5e4], color=style.depth_color(3))
    ax.set_yscale("log")
    assert not [line for line in ax.lines if len(line.get_xdata()) and line.get_marker() not in ("None", None, "", "_")]
    (segments,) = [c.get_segments() for c in ax.collections]
    assert [tuple(map(tuple, s)) for s in segments] == [((20.0, 1.0), (20.0, 5e4))]


def test_compare_figure_draws_uncertified_cells_as_bars():
    from tnrnn.tables.compare import Comparison

    cells = {(1, 4): {"lower": 2, "upper": 2, "certified": True}, (3, 4): {"lower": 1, "upper": 600, "certified": False}}
    fig = Comparison(2, 2, (1, 3), (4,), cells).plot()
    ax = fig.axes[0]
    bars = [s for c in ax.collections for s in c.get_segments()]
    assert len(bars) == 1 and bars[0][0][1] == 1 and bars[0][1][1] == 600
    depth3 = [line for line in ax.lines if line.get_color() == style.depth_color(3) and len(line.get_xdata())]
    # no depth-3 point at the interval's lower end (it would read as a rank of 1)
    assert all(1.0 not in list(line.get_ydata()) for line in depth3)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_is_atomic_and_at_the_style_dpi(tmp_path, suffix):
    fig, ax = style.figure()
    ax.plot([0, 1], [0, 1])
    path = style.save(fig, tmp_path / f"f{suffix}")
    assert path.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [f"f{suffix}"]
    if suffix == ".png":
        from matplotlib.image import imread

        height, width = imread(path).shape[:2]
        assert width <= style.SINGLE[0] * style.DPI + 1 and width > 0.5 * style.SINGLE[0] * style.DPI
