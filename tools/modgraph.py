"""The import graph of the tnrnn package, read from its source with :mod:`ast`.

Every ``import`` statement counts, at module level or inside a function (a lazy import
is still a dependency), except those under ``if TYPE_CHECKING:``, which never run.
:func:`find_cycle` finds an import circle; :func:`layers` orders the modules bottom-up
(a module sits one layer above the highest module it imports); ``python tools/modgraph.py [module ...]`` prints the layered listing used in the
documentation, and ``python tools/modgraph.py --stats`` the measures of the house plan
(modules per folder, longest import chain, private names imported from another folder,
imports inside functions, lines).

A development tool: it reads the source and imports nothing of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["import_graph", "find_cycle", "layers", "subgraph", "format_layers", "longest_chain",
           "private_imports", "private_imports_across_folders", "imports_inside_functions", "stats"]

_ROOT = Path(__file__).resolve().parent.parent / "tnrnn"


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
    >>> "tnrnn.exact.modular" in graph["tnrnn.ranks.router"], "tnrnn.ranks.router" in graph["tnrnn.exact.modular"]
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


def _files(root: Path, package: str) -> dict[str, Path]:
    return {_module_name(path, root, package): path for path in sorted(root.rglob("*.py"))}


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import chain ``[a, b, ...]`` (a imports b imports ...) of an acyclic graph."""
    best: dict[str, list[str]] = {}

    def chain(node: str) -> list[str]:
        if node not in best:
            tails = [chain(n) for n in sorted(graph.get(node, ()))]
            best[node] = [node, *max(tails, key=len, default=[])]
        return best[node]

    return max((chain(node) for node in sorted(graph)), key=len, default=[])


def folder_of(module: str, files: dict[str, Path]) -> str:
    """The package (folder) a module lives in; a package's ``__init__`` lives in itself."""
    return module if files[module].name == "__init__.py" else module.rpartition(".")[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(root: str | Path | None = None, package: str = "tnrnn") -> list[tuple[str, str, str]]:
    """Every private name one module imports from another: ``(importer, owner module, name)``.

    A private name is a symbol ``_x`` imported with ``from M import _x`` (owned by ``M``) or
    a private module ``pkg._x`` (owned by ``pkg``).
    """
    root = _ROOT if root is None else Path(root)
    files = _files(root, package)
    found = []
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith(package):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in files:  # from pkg import module
                        if _is_private(alias.name):
                            found.append((name, node.module, alias.name))
                    elif _is_private(alias.name):
                        found.append((name, node.module, alias.name))
                    elif any(_is_private(part) for part in node.module.split(".")[1:]):
                        owner = node.module.rpartition(".")[0]
                        found.append((name, owner, node.module.rpartition(".")[2]))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == package and any(_is_private(p) for p in parts[1:]):
                        found.append((name, ".".join(parts[:-1]), parts[-1]))
    return sorted(set(found))


def private_imports_across_folders(root: str | Path | None = None, package: str = "tnrnn"):
    """The private imports whose importer is outside the owner's folder (or its subfolders)."""
    root = _ROOT if root is None else Path(root)
    files = _files(root, package)
    out = []
    for importer, owner, name in private_imports(root, package):
        if f"{owner}.{name}" in files:  # a private module: it belongs to its package
            home = owner
        else:  # a private symbol: it belongs to the folder of the module defining it
            home = folder_of(owner, files) if owner in files else owner
        here = folder_of(importer, files)
        if not (here == home or here.startswith(home + ".")):
            out.append((importer, owner, name))
    return out


def imports_inside_functions(root: str | Path | None = None, package: str = "tnrnn") -> int:
    """How many ``import`` statements of package modules sit inside a function body."""
    root = _ROOT if root is None else Path(root)
    count = 0
    for path in _files(root, package).values():
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom):
                        count += bool(node.level or (node.module or "").startswith(package))
                    elif isinstance(node, ast.Import):
                        count += any(a.name.split(".")[0] == package for a in node.names)
    return count


def stats(root: str | Path | None = None, package: str = "tnrnn") -> dict:
    """The measures of the house plan, as a dict (see the module docstring)."""
    root = _ROOT if root is None else Path(root)
    files = _files(root, package)
    graph = import_graph(root, package)
    folders: dict[str, int] = {}
    for name in files:
        if files[name].name != "__init__.py":
            folders[folder_of(name, files)] = folders.get(folder_of(name, files), 0) + 1
    chain = longest_chain(graph)
    return {
        "modules": len(files),
        "lines": sum(len(p.read_text().splitlines()) for p in files.values()),
        "modules_per_folder": dict(sorted(folders.items())),
        "longest_chain": chain,
        "private_imports": len(private_imports(root, package)),
        "private_imports_across_folders": private_imports_across_folders(root, package),
        "imports_inside_functions": imports_inside_functions(root, package),
    }


if __name__ == "__main__":
    import json
    import sys

    graph = import_graph()
    if sys.argv[1:] == ["--stats"]:
        print(json.dumps(stats(), indent=1))
    elif len(sys.argv) > 1:  # python tools/modgraph.py rank results ...: those modules only
        graph = subgraph(graph, [f"tnrnn.{name}" for name in sys.argv[1:]])
        print(format_layers(graph))
    else:
        print(format_layers(graph))
