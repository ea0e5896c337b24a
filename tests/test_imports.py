"""Import structure of every package: no cycles between a package's own modules, and no
package imports another exercise (only ``aiinfra_shared`` and libraries).

Imports inside functions count too: a demo that imports a helper from ``cli.py`` while the
CLI imports the demo is a cycle a reader has to untangle, whether or not Python tolerates it.
``if TYPE_CHECKING:`` imports do not count (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from aiinfra_shared import workspace

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = workspace.discover(ROOT)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def module_graph(package_dir: Path, name: str) -> dict[str, set[str]]:
    """Module -> the package's own modules it imports (``pkg.__init__`` as ``pkg``)."""
    modules: dict[str, Path] = {}
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        dotted = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[dotted] = path
    graph: dict[str, set[str]] = {}
    for dotted, path in modules.items():
        targets = set()
        for imported in _imports(ast.parse(path.read_text(), str(path))):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != dotted and imported != name:
                targets.add(imported)
        graph[dotted] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := dfs(start)):
            return cycle
    return None


def test_find_cycle_sees_a_cycle_and_a_dag() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("member", MEMBERS, ids=[m.short for m in MEMBERS])
def test_no_import_cycle_inside_the_package(member: workspace.Member) -> None:
    package_dir = member.path / "src" / member.import_name
    graph = module_graph(package_dir, member.import_name)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("member", MEMBERS, ids=[m.short for m in MEMBERS])
def test_no_package_imports_another_exercise(member: workspace.Member) -> None:
    others = {m.import_name for m in MEMBERS if m.kind != "library"} - {member.import_name}
    offenders = []
    for path in (member.path / "src").rglob("*.py"):
        for imported in _imports(ast.parse(path.read_text(), str(path))):
            if imported.split(".")[0] in others:
                offenders.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert offenders == []
