"""The package imports without circles, and the rank engine is layered bottom-up."""

from __future__ import annotations

import pytest

from tnrnn.modgraph import find_cycle, format_layers, import_graph, layers


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


@pytest.mark.parametrize("module, forbidden", [
    ("tnrnn.elimination", {"tnrnn.modular"}),
    ("tnrnn.modular", {"tnrnn.results", "tnrnn.contract", "tnrnn.scalable", "tnrnn.rank"}),
    ("tnrnn.results", {"tnrnn.contract", "tnrnn.scalable", "tnrnn.routes", "tnrnn.rank", "tnrnn.profile"}),
    ("tnrnn.contract", {"tnrnn.scalable", "tnrnn.routes", "tnrnn.rank", "tnrnn.profile"}),
    ("tnrnn.scalable", {"tnrnn.contract", "tnrnn.lifted", "tnrnn.routes", "tnrnn.rank", "tnrnn.profile"}),
    ("tnrnn.lifted", {"tnrnn.contract", "tnrnn.routes", "tnrnn.rank", "tnrnn.profile"}),
    ("tnrnn.routes", {"tnrnn.rank", "tnrnn.profile"}),
    ("tnrnn.profile", {"tnrnn.rank"}),
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
