from __future__ import annotations

from collections.abc import Callable

import pytest
from pulumiml.graph import Graph, synthesize
from pulumiml.spec import load_stack

GraphOf = Callable[[str, str], Graph]


@pytest.fixture(scope="session")
def graph_of() -> GraphOf:
    """``graph_of(cloud, stack)``: the shipped stack built under mocks (cached per session)."""
    cache: dict[tuple[str, str], Graph] = {}

    def build(cloud: str, stack: str) -> Graph:
        if (cloud, stack) not in cache:
            cache[cloud, stack] = synthesize(load_stack(stack, cloud=cloud), stack=stack)
        return cache[cloud, stack]

    return build
