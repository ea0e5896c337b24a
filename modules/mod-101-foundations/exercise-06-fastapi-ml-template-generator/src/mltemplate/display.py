"""How a project's files are shown: a tree, as ``tree`` would print it."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree


def file_tree(root: str, paths: list[str]) -> Tree:
    """A rich Tree of relative paths."""
    tree = Tree(f"[bold]{escape(root)}/")
    nodes: dict[str, Tree] = {"": tree}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key not in nodes:
                nodes[key] = nodes["/".join(parts[: depth - 1])].add(f"{escape(parts[depth - 1])}/")
        nodes["/".join(parts[:-1])].add(escape(parts[-1]))
    return tree
