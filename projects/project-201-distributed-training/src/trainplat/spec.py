"""The job spec: what a user submits (YAML), validated before anything starts.

A spec names the workload (generated tabular data, an MLP), its hyperparameters, how many
Ray Train workers run it, how often a failed worker group may be restarted, which checkpoints
to keep, an optional search space for Ray Tune, and an optional chaos drill (fail one worker
once) to prove the fault tolerance.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trainplat.errors import SpecError

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(Strict):
    """Generated tabular classification data (see :mod:`trainplat.workload`)."""

    samples: int = Field(4096, ge=64)
    val_samples: int = Field(1024, ge=32)
    features: int = Field(16, ge=2, le=1024)
    classes: int = Field(3, ge=2, le=100)
    noise: float = Field(1.0, ge=0)
    seed: int = 0


class HyperParams(Strict):
    """What Ray Tune may search over (and what a plain job fixes)."""

    lr: float = Field(0.01, gt=0, le=1)
    hidden: int = Field(64, ge=1, le=4096)
    layers: int = Field(2, ge=1, le=8)
    batch_size: int = Field(64, ge=1)
    weight_decay: float = Field(0.0, ge=0)


class ScalingSpec(Strict):
    """Ray Train workers: each is one DDP rank."""

    num_workers: int = Field(2, ge=1, le=512)
    use_gpu: bool = False
    cpus_per_worker: float = Field(1.0, gt=0)


class CheckpointSpec(Strict):
    """Which reported checkpoints Ray Train keeps."""

    num_to_keep: int = Field(2, ge=1)
    score_attribute: str = "val_loss"
    order: Literal["min", "max"] = "min"


class Distribution(Strict):
    """One search dimension: exactly one of the four keys."""

    loguniform: tuple[float, float] | None = None
    uniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None
    choice: list[Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Distribution:
        given = [k for k in ("loguniform", "uniform", "randint", "choice") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of loguniform, uniform, randint, choice")
        low_high = self.loguniform or self.uniform or self.randint
        if low_high is not None and not low_high[0] < low_high[1]:
            raise ValueError(f"low must be below high, got {list(low_high)}")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform bounds must be positive")
        return self


class TuneSpec(Strict):
    """Ray Tune with the ASHA scheduler (stops weak trials at rungs)."""

    num_samples: int = Field(4, ge=1)
    max_concurrent: int = Field(2, ge=1)
    metric: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    grace_period: int = Field(1, ge=1)
    reduction_factor: int = Field(2, ge=2)
    search_space: dict[str, Distribution] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> TuneSpec:
        unknown = set(self.search_space) - set(HyperParams.model_fields)
        if unknown:
            raise ValueError(
                f"search_space has unknown hyperparameters {sorted(unknown)}; "
                f"known: {sorted(HyperParams.model_fields)}"
            )
        return self


class ChaosSpec(Strict):
    """Fail one worker once, at the start of an epoch: a fault-tolerance drill."""

    fail_at_epoch: int = Field(ge=1)
    rank: int = Field(0, ge=0)
    mode: Literal["raise", "exit"] = "raise"


class JobSpec(Strict):
    """A training job."""

    name: str
    epochs: int = Field(5, ge=1, le=10_000)
    data: DataSpec = DataSpec()
    hyperparameters: HyperParams = HyperParams()
    scaling: ScalingSpec = ScalingSpec()
    max_failures: int = Field(2, ge=0)
    checkpoint: CheckpointSpec = CheckpointSpec()
    tune: TuneSpec | None = None
    chaos: ChaosSpec | None = None
    experiment: str = "trainplat"

    @model_validator(mode="after")
    def _checks(self) -> JobSpec:
        if not NAME.match(self.name):
            raise ValueError(
                f"name {self.name!r} must be lowercase letters, digits and '-' (max 50)"
            )
        if self.chaos is not None:
            if self.chaos.fail_at_epoch >= self.epochs:
                raise ValueError("chaos.fail_at_epoch must be before the last epoch")
            if self.chaos.rank >= self.scaling.num_workers:
                raise ValueError("chaos.rank must be one of the workers")
            if self.max_failures < 1:
                raise ValueError("a chaos drill needs max_failures >= 1")
        if self.checkpoint.score_attribute not in METRICS:
            raise ValueError(f"checkpoint.score_attribute must be one of {sorted(METRICS)}")
        if self.tune is not None and self.tune.metric not in METRICS:
            raise ValueError(f"tune.metric must be one of {sorted(METRICS)}")
        return self


METRICS = {"val_loss", "val_acc", "train_loss"}


def parse(text: str, source: str = "<spec>") -> JobSpec:
    """Parse and validate a YAML spec.

    Raises:
        SpecError: YAML syntax, or every validation problem, one per line.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: a job spec is a mapping with at least 'name'")
    try:
        return JobSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise SpecError(f"{source}: {problems}") from exc


def load(path: Path) -> JobSpec:
    """Read and validate a spec file.

    Raises:
        SpecError: Missing file or invalid spec.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}") from exc
    return parse(text, str(path))


def builtin(name: str = "tiny") -> JobSpec:
    """A spec shipped in the package (``specs/<name>.yaml``)."""
    from importlib.resources import files

    resource = files("trainplat") / "specs" / f"{name}.yaml"
    return parse(resource.read_text(), f"builtin:{name}")
