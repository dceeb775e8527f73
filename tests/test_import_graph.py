"""The shape of genaug_core: no import cycles between its modules, no oversized files.

The graph is built from the source with `ast`, not by importing anything, so
it sees every import a module can run: at module level and inside functions,
`import a.b` and `from a.b import c` (relative ones resolved). Imports under
`if TYPE_CHECKING:` are left out because they never run. An edge goes to the
exact module named: `from a.b import c` reaches `a.b.c` when that is a module,
else `a.b`; importing `a.b.c` adds no edge to package `a.b`'s `__init__`.

`import_cycles(root)` is importable so other checks (or a one-off look at a
branch) can reuse the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "genaug_core"
MAX_LINES = 800



def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file for every .py under the package at `root` (a folder holding __init__.py)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the tree except the body of `if TYPE_CHECKING:`."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # an `else:` beside TYPE_CHECKING does run
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (self-imports left out)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    # level 1 is the package this module is in (a package's __init__ is in itself)
                    base_parts = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    base_parts = base_parts[: len(base_parts) - drop]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative, so deep graphs cannot hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def import_cycles(root: Path = PACKAGE) -> set[frozenset[str]]:
    """The import cycles among the modules of the package at `root`: each as the set of modules in it."""
    return {frozenset(c) for c in strongly_connected(import_graph(root)) if len(c) > 1}


def _describe(cycles: set[frozenset[str]]) -> str:
    return "\n".join("  " + " <-> ".join(sorted(c)) for c in sorted(cycles, key=sorted))


def test_no_import_cycles():
    cycles = import_cycles(PACKAGE)
    assert not cycles, f"import cycles in genaug_core:\n{_describe(cycles)}"


def test_no_file_over_800_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_graph_builder_on_a_small_package(tmp_path):
    """The rules above, on a package made for it: cycles found, TYPE_CHECKING and exact targets respected."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.a import x\n",
        "a.py": "def f():\n    from pkg import b  # a function-level import counts\n",
        "b.py": "from . import a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\nelse:\n    import os\n",
        "d.py": "import pkg.c\n",
        "sub/__init__.py": "",
        "sub/e.py": "from ..sub import f\n",
        "sub/f.py": "from .. import sub\nimport pkg.sub.e\n",
        "g.py": "import pkg.sub.e\n",  # an edge to pkg.sub.e only, not to pkg.sub
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    graph = import_graph(pkg)
    assert graph["pkg"] == {"pkg.a"}
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"}
    assert graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}
    assert graph["pkg.sub.e"] == {"pkg.sub.f"} and graph["pkg.sub.f"] == {"pkg.sub", "pkg.sub.e"}
    assert graph["pkg.g"] == {"pkg.sub.e"}
    assert import_cycles(pkg) == {frozenset({"pkg.a", "pkg.b"}), frozenset({"pkg.sub.e", "pkg.sub.f"})}
