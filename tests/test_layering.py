"""The package imports without circles, its folders follow the pipeline, and private names stay home."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from modgraph import (  # noqa: E402
    find_cycle,
    folder_of,
    format_layers,
    import_graph,
    layers,
    private_imports,
    private_imports_across_folders,
)

#: The folders bottom-up: each imports only folders before it (and the shared top-level modules).
FOLDER_ORDER = ["tnrnn.exact", "tnrnn.rac", "tnrnn.tn", "tnrnn.ranks", "tnrnn.tables", "tnrnn.nn", "tnrnn.probe",
                "tnrnn.experiments", "tnrnn.lenses", "tnrnn.cli"]
#: The shared top-level modules: infrastructure every folder may use; they import no folder.
SHARED = {"tnrnn._files", "tnrnn._heap", "tnrnn._lazy", "tnrnn._moved", "tnrnn._numbers", "tnrnn._outputs", "tnrnn._runfiles", "tnrnn._threads",
          "tnrnn._validation", "tnrnn.guards", "tnrnn.style"}


def _stage(module: str) -> str | None:
    for folder in FOLDER_ORDER:
        if module == folder or module.startswith(folder + "."):
            return folder
    return None


def _reach(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycle_inside_tnrnn():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_every_module_is_in_a_folder_of_the_plan_or_shared():
    graph = import_graph()
    loose = [m for m in graph if _stage(m) is None and m not in SHARED | {"tnrnn", "tnrnn.__main__"}]
    assert loose == [], f"modules outside the plan: {loose}"


def test_folders_import_only_the_folders_below_them():
    graph = import_graph()
    upward = []
    for module, targets in graph.items():
        here = _stage(module)
        for target in targets:
            there = _stage(target)
            if module in SHARED and target not in SHARED:
                upward.append((module, target))
            elif here and there and FOLDER_ORDER.index(there) > FOLDER_ORDER.index(here):
                upward.append((module, target))
    assert upward == [], f"imports that run up the pipeline: {upward}"


def test_no_private_name_is_imported_from_outside_its_folder():
    assert private_imports_across_folders() == []


def test_the_private_name_rule_catches_a_crossing(tmp_path):
    pkg = tmp_path / "toy"
    (pkg / "low").mkdir(parents=True)
    (pkg / "high").mkdir()
    for folder in (pkg, pkg / "low", pkg / "high"):
        (folder / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def _helper():\n    pass\n")
    (pkg / "low" / "b.py").write_text("from toy.low.a import _helper\n")  # same folder: allowed
    (pkg / "high" / "c.py").write_text("def f():\n    from toy.low.a import _helper\n")
    assert ("toy.high.c", "toy.low.a", "_helper") in private_imports(pkg, "toy")
    assert private_imports_across_folders(pkg, "toy") == [("toy.high.c", "toy.low.a", "_helper")]
    files = {"toy.low.a": pkg / "low" / "a.py", "toy.low": pkg / "low" / "__init__.py"}
    assert folder_of("toy.low.a", files) == "toy.low" and folder_of("toy.low", files) == "toy.low"


@pytest.mark.parametrize("module, forbidden", [
    ("tnrnn.exact.elimination", {"tnrnn.exact.modular"}),
    ("tnrnn.exact.modular", {"tnrnn.ranks.results", "tnrnn.tn.contract", "tnrnn.ranks.scalable",
                             "tnrnn.ranks.router"}),
    ("tnrnn.ranks.results", {"tnrnn.tn.contract", "tnrnn.ranks.scalable", "tnrnn.ranks.routes", "tnrnn.ranks.router", "tnrnn.ranks.cuts"}),
    ("tnrnn.tn.contract", {"tnrnn.ranks.network", "tnrnn.ranks.scalable", "tnrnn.ranks.routes",
                           "tnrnn.ranks.router", "tnrnn.ranks.cuts"}),
    ("tnrnn.ranks.network", {"tnrnn.ranks.scalable", "tnrnn.ranks.routes", "tnrnn.ranks.router",
                             "tnrnn.ranks.cuts"}),
    ("tnrnn.ranks.scalable", {"tnrnn.tn.contract", "tnrnn.ranks.lifted", "tnrnn.ranks.routes", "tnrnn.ranks.router", "tnrnn.ranks.cuts"}),
    ("tnrnn.ranks.lifted", {"tnrnn.tn.contract", "tnrnn.ranks.routes", "tnrnn.ranks.router", "tnrnn.ranks.cuts"}),
    ("tnrnn.ranks.routes", {"tnrnn.ranks.router", "tnrnn.ranks.cuts"}),
    ("tnrnn.ranks.cuts", {"tnrnn.ranks.router"}),
])
def test_rank_engine_layers(module, forbidden):
    reached = _reach(import_graph(), module)
    assert not reached & forbidden, f"{module} reaches {sorted(reached & forbidden)}"


def test_cycle_detection_and_layers_on_a_toy_graph(tmp_path):
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from toy.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import toy.a\n")
    graph = import_graph(pkg, "toy")
    assert graph["toy.a"] == {"toy.b"} and graph["toy.b"] == {"toy.c"} and graph["toy.c"] == set()
    assert layers(graph) == [["toy", "toy.c"], ["toy.b"], ["toy.a"]]
    (pkg / "c.py").write_text("def g():\n    import toy.a\n")  # a lazy import still closes a circle
    graph = import_graph(pkg, "toy")
    assert find_cycle(graph) == ["toy.a", "toy.b", "toy.c", "toy.a"]
    with pytest.raises(ValueError, match="import cycle: toy.a -> toy.b -> toy.c -> toy.a"):
        format_layers(graph)
