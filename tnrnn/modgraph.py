"""The import graph of the tnrnn package, read from its source with :mod:`ast`.

Every ``import`` statement counts, at module level or inside a function (a lazy import
is still a dependency), except those under ``if TYPE_CHECKING:``, which never run.
:func:`find_cycle` finds an import circle; :func:`layers` orders the modules bottom-up
(a module sits one layer above the highest module it imports); ``python -m
tnrnn.modgraph [module ...]`` prints the layered listing used in the documentation.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["import_graph", "find_cycle", "layers", "subgraph", "format_layers"]

_ROOT = Path(__file__).resolve().parent


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for inner in node.body:
                    skipped.update(id(n) for n in ast.walk(inner))
    return skipped


def import_graph(root: str | Path | None = None, package: str = "tnrnn") -> dict[str, set[str]]:
    """Map each module of the package to the package modules it imports.

    Parameters
    ----------
    root : path, optional
        The package directory (default: this installed ``tnrnn``).
    package : str
        Its import name.

    Returns
    -------
    dict of str to set of str
        Dotted module names (a package is its ``__init__``); only edges inside the package.

    Examples
    --------
    >>> graph = import_graph()
    >>> "tnrnn.modular" in graph["tnrnn.rank"], "tnrnn.rank" in graph["tnrnn.modular"]
    (True, False)
    """
    root = _ROOT if root is None else Path(root)
    files = {_module_name(path, root, package): path for path in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skipped = _type_checking_nodes(tree)
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[:len(base) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in files else module
                           for alias in node.names]
            for target in targets:
                while target and target not in files:  # import a.b.c where only a.b is a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle ``[a, b, ..., a]``, or ``None`` when the graph has none.

    Examples
    --------
    >>> find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": {"b"}, "b": set()}) is None
    True
    """
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules by layer, bottom first: layer 0 imports nothing of the package.

    Raises
    ------
    ValueError
        If the graph has an import cycle (named in the message).
    """
    cycle = find_cycle(graph)
    if cycle:
        raise ValueError(f"import cycle: {' -> '.join(cycle)}")
    level: dict[str, int] = {}

    def height(node: str) -> int:
        if node not in level:
            level[node] = 1 + max((height(n) for n in graph.get(node, ())), default=-1)
        return level[node]

    for node in graph:
        height(node)
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for node, value in sorted(level.items()):
        out[value].append(node)
    return out


def subgraph(graph: dict[str, set[str]], modules) -> dict[str, set[str]]:
    """The graph restricted to ``modules`` (dotted names), keeping the edges among them."""
    keep = set(modules)
    return {name: graph[name] & keep for name in graph if name in keep}


def format_layers(graph: dict[str, set[str]], *, prefix: str = "tnrnn.") -> str:
    """A Markdown list of the layers, each module with what it imports."""
    lines = []
    for i, names in enumerate(layers(graph)):
        lines.append(f"- **layer {i}**")
        for name in names:
            deps = ", ".join(sorted(d.removeprefix(prefix) for d in graph[name]))
            lines.append(f"  - `{name.removeprefix(prefix) or name}`" + (f" ← {deps}" if deps else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    graph = import_graph()
    if len(sys.argv) > 1:  # python -m tnrnn.modgraph rank results ...: those modules only
        graph = subgraph(graph, [f"tnrnn.{name}" for name in sys.argv[1:]])
    print(format_layers(graph))
