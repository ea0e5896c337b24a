"""The platform's configuration and the router that assigns each request to a backend.

A **route** is what clients name (``"model": "scorer"``); its **variants** are backends with
weights (90/10 is an A/B test or a canary). Assignment:

- **sticky** (default): a request with a user key (``user`` in the body, or the
  ``X-User-Id`` header) lands in the bucket ``sha256(route:user)`` falls into, so a user sees
  the same variant on every request and the split over many users follows the weights;
- otherwise a seeded random draw per request.

If the assigned variant's circuit breaker is open, the request **fails over** to the heaviest
other variant whose breaker lets it through (counted as a fallback); if none does, the route
is unavailable (503). Weights can change at run time (``PUT /admin/routes/{model}``), which is
how a canary is ramped up or rolled back.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from pathlib import Path
from threading import Lock
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from servplat.breaker import CircuitBreaker
from servplat.errors import BackendUnavailableError, ConfigError


class BreakerConfig(BaseModel):
    """Circuit-breaker settings of one backend."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(default=5, ge=1)
    reset_timeout: float = Field(default=10.0, gt=0)


class BackendConfig(BaseModel):
    """One model server.

    ``url`` points at a server that is already running; ``launch`` asks ``servplat up`` (and
    the demo) to start one: ``{"version": "v1"}`` for a classic scorer, ``{"model": "tiny"}``
    for an LLM server. ``price_per_1k`` is dollars per 1000 predictions (classic) or tokens
    (llm). ``model`` is the model id an LLM backend serves (the gateway rewrites to it).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["classic", "llm"]
    url: str | None = None
    launch: dict[str, str] | None = None
    model: str | None = None
    timeout: float = Field(default=10.0, gt=0)
    price_per_1k: float = Field(default=0.0, ge=0)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)

    @model_validator(mode="after")
    def _located(self) -> BackendConfig:
        if not self.url and self.launch is None:
            raise ValueError("give a url (a running server) or launch (servplat starts one)")
        return self


class BatchingConfig(BaseModel):
    """Micro-batching of single predictions to a classic backend."""

    model_config = ConfigDict(extra="forbid")

    max_batch: int = Field(default=16, ge=1, le=1024)
    max_wait_ms: float = Field(default=5.0, ge=0, le=1000, allow_inf_nan=False)
    #: Send at once when the backend is idle; queue only while a batch is in flight (lower
    #: latency alone, lower throughput under load: see the README's sweep).
    eager: bool = False


class RouteConfig(BaseModel):
    """A model name clients call, and the backends behind it."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    variants: dict[str, float] = Field(min_length=1)
    sticky: bool = True
    shadow: str | None = None
    batching: BatchingConfig | None = None


class PlatformConfig(BaseModel):
    """Backends and routes (``configs/platform.yaml`` is the shipped example)."""

    model_config = ConfigDict(extra="forbid")

    backends: dict[str, BackendConfig] = Field(min_length=1)
    routes: list[RouteConfig] = Field(min_length=1)
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> PlatformConfig:
        seen: set[str] = set()
        for route in self.routes:
            if route.model in seen:
                raise ValueError(f"route {route.model!r} is defined twice")
            seen.add(route.model)
            names = [*route.variants, *([route.shadow] if route.shadow else [])]
            unknown = [n for n in names if n not in self.backends]
            if unknown:
                raise ValueError(f"route {route.model!r} names unknown backends: {unknown}")
            check_weights(route.model, route.variants)
            kinds = {self.backends[n].kind for n in names}
            if len(kinds) > 1:
                raise ValueError(f"route {route.model!r} mixes classic and llm backends")
            if route.batching and kinds != {"classic"}:
                raise ValueError(f"route {route.model!r}: batching is for classic backends")
        return self

    def route(self, model: str) -> RouteConfig | None:
        """The route called ``model``."""
        return next((r for r in self.routes if r.model == model), None)


def check_weights(model: str, weights: Mapping[str, float]) -> None:
    """Weights are non-negative and at least one is positive.

    Raises:
        ValueError: Otherwise.
    """
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"route {model!r}: weights must be >= 0")
    if not any(w > 0 for w in weights.values()):
        raise ValueError(f"route {model!r}: at least one weight must be > 0")


def load_config(path: Path) -> PlatformConfig:
    """Read and validate a platform YAML file.

    Raises:
        ConfigError: Unreadable, not YAML, or invalid (the message says where).
    """
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def bucket(route: str, user: str) -> float:
    """A user's fixed place in [0, 1) for a route (SHA-256, so it is uniform and stable)."""
    digest = hashlib.sha256(f"{route}:{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick(weights: Mapping[str, float], point: float) -> str:
    """The variant whose share of the cumulative weights contains ``point`` (in [0, 1))."""
    total = sum(weights.values())
    edge = 0.0
    chosen = ""
    for name, weight in weights.items():
        if weight <= 0:
            continue
        chosen = name
        edge += weight / total
        if point < edge:
            return name
    return chosen  # rounding at the very top


class Router:
    """Assigns requests to variants; weights are mutable at run time."""

    def __init__(self, config: PlatformConfig, breakers: Mapping[str, CircuitBreaker]) -> None:
        self.config = config
        self.breakers = breakers
        self._rng = random.Random(config.seed)  # noqa: S311 - traffic splitting, not secrets
        self._weights = {r.model: dict(r.variants) for r in config.routes}
        self._lock = Lock()

    def weights(self, model: str) -> dict[str, float]:
        """Current weights of a route."""
        with self._lock:
            return dict(self._weights[model])

    def set_weights(self, model: str, weights: Mapping[str, float]) -> dict[str, float]:
        """Replace a route's weights (a canary step or a rollback).

        Raises:
            ConfigError: Unknown backend, a kind other than the route's, or bad weights.
        """
        route = self.config.route(model)
        assert route is not None
        kind = self.config.backends[next(iter(route.variants))].kind
        for name in weights:
            backend = self.config.backends.get(name)
            if backend is None or backend.kind != kind:
                raise ConfigError(f"{name!r} is not a {kind} backend of this platform")
        try:
            check_weights(model, weights)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        with self._lock:
            self._weights[model] = dict(weights)
        return dict(weights)

    def assign(self, model: str, user: str | None) -> tuple[str, bool]:
        """The backend for one request, and whether it is a fallback.

        Raises:
            BackendUnavailableError: Every variant's breaker is open.
        """
        route = self.config.route(model)
        assert route is not None
        with self._lock:
            weights = dict(self._weights[model])
            point = bucket(model, user) if (user and route.sticky) else self._rng.random()
        chosen = pick(weights, point)
        if self.breakers[chosen].allow():
            return chosen, False
        others = sorted((w, n) for n, w in weights.items() if n != chosen and w > 0)
        for _, name in reversed(others):
            if self.breakers[name].allow():
                return name, True
        raise BackendUnavailableError(
            f"no backend of {model!r} is available: circuit open for "
            + ", ".join(n for n, w in weights.items() if w > 0)
        )
