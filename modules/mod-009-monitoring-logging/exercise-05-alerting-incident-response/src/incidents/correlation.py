"""Which open incident a new alert belongs to: same service, or a service it depends on.

A dependency map says which services call which::

    api: [model-server, feature-store]
    model-server: [gpu-pool]

An alert joins an open incident when, within the correlation window of that incident's last
activity, it is about the same service, or about a service on the other's dependency path
(``api`` alerts join a ``gpu-pool`` incident: the GPU pool is the probable cause). Otherwise
it opens a new incident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from incidents.errors import IncidentsError


class DependencyMapError(IncidentsError):
    """A dependency map that is not a mapping of service -> list of services."""


class DependencyMap:
    """Services and what they depend on, with transitive look-ups."""

    def __init__(self, edges: Mapping[str, Sequence[str]] | None = None) -> None:
        self.edges: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (edges or {}).items()}

    @classmethod
    def from_data(cls, data: Any, source: str = "dependency map") -> DependencyMap:
        """Check a mapping read from YAML.

        Raises:
            DependencyMapError: Not ``{service: [service, ...]}``.
        """
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise DependencyMapError(f"{source}: expected a mapping of service -> [services]")
        for service, deps in data.items():
            if (
                not isinstance(service, str)
                or not isinstance(deps, list)
                or not all(isinstance(d, str) for d in deps)
            ):
                raise DependencyMapError(
                    f"{source}: {service!r} must map to a list of service names"
                )
        return cls(data)

    @classmethod
    def load(cls, path: Path | str) -> DependencyMap:
        """Read a dependency map file.

        Raises:
            DependencyMapError: Missing, not YAML, or the wrong shape.
        """
        try:
            data = yaml.safe_load(Path(path).read_text())
        except FileNotFoundError:
            raise DependencyMapError(f"{path}: no such file") from None
        except yaml.YAMLError as exc:
            raise DependencyMapError(
                f"{path}: not valid YAML: {str(exc).splitlines()[0]}"
            ) from None
        return cls.from_data(data, str(path))

    def upstream(self, service: str) -> set[str]:
        """Every service ``service`` depends on, directly or not."""
        seen: set[str] = set()
        todo = list(self.edges.get(service, ()))
        while todo:
            dep = todo.pop()
            if dep not in seen and dep != service:
                seen.add(dep)
                todo.extend(self.edges.get(dep, ()))
        return seen

    def related(self, a: str, b: str) -> str | None:
        """Why two services' alerts belong together (None: they do not)."""
        if a == b:
            return "same service"
        if b in self.upstream(a):
            return f"{a} depends on {b}"
        if a in self.upstream(b):
            return f"{b} depends on {a}"
        return None
