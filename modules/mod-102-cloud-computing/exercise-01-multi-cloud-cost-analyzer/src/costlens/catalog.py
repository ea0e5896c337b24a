"""The shipped instance catalog: sizes and on-demand prices the recommender chooses from."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Instance:
    """One machine type of one cloud."""

    provider: str
    name: str
    family: str
    vcpu: int
    memory_gib: float
    gpus: int
    hourly: float  # USD, on-demand Linux

    @property
    def monthly(self) -> float:
        """The price of a month (730 hours, the clouds' own convention)."""
        return self.hourly * 730


@functools.cache
def load_catalog() -> dict[tuple[str, str], Instance]:
    """Every instance type of ``data/instance_catalog.csv``, keyed by (provider, type)."""
    text = resources.files("costlens").joinpath("data/instance_catalog.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        (r["provider"], r["instance_type"]): Instance(
            r["provider"],
            r["instance_type"],
            r["family"],
            int(r["vcpu"]),
            float(r["memory_gib"]),
            int(r["gpus"]),
            float(r["hourly_usd"]),
        )
        for r in rows
    }


def family_sizes(provider: str, family: str) -> list[Instance]:
    """The sizes of one family, smallest first."""
    sizes = [i for (p, _), i in load_catalog().items() if p == provider and i.family == family]
    return sorted(sizes, key=lambda i: (i.vcpu, i.memory_gib))
