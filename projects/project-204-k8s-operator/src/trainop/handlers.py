"""The Kopf handlers of the MLTrainingJob operator (``kopf run -m trainop.handlers``).

One function, :func:`drive`, moves a job through its phases; Kopf calls it on create and
resume, and a timer calls it every ``TRAINOP_POLL_INTERVAL`` seconds (the job's progress is in
its Job's status, which the timer reads). It is level-triggered: whatever it finds, it takes
the next step, so an operator restarted at any point converges.

    Invalid ─ the spec breaks the schema (status says why; nothing is created)
    Refused ─ the namespace's GPU budget is exceeded (re-checked each poll: admitted later)
    Admitted ─ the GPUs are reserved (written to the API before any child is created)
    Running ─ ConfigMap, PVC, headless Service and the attempt's Indexed Job exist
    Retrying ─ the attempt failed; the next starts after backoff × 2^(attempt-1)
    Succeeded / Failed ─ terminal; with cleanupPolicy Delete the Job, Service and ConfigMap go

Deleting the MLTrainingJob deletes its children (the PVC too, unless cleanupPolicy is Keep).

Admission is atomic: one lock per namespace serializes the check-and-reserve, and the
reservation (``status.admittedSpec``, ``status.gpus``) is written to the API before the
handler returns, so the next job's check counts it even though Kopf applies its own patch
later. Every attempt runs the admitted spec, not whatever ``spec`` says now: an edit to a
running job is admitted again against the budget (and applies from the next attempt) or
refused (``status.specChange`` says why; the attempts keep the admitted spec).
"""

from __future__ import annotations

import copy
import os
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import kopf

from aiinfra_shared import operators
from trainop import children
from trainop.kube import Api
from trainop.spec import GROUP, PLURAL, VERSION, MLTrainingJobSpec, parse_spec

POLL_INTERVAL = float(os.environ.get("TRAINOP_POLL_INTERVAL", "5"))
RESOURCE = (GROUP, VERSION, PLURAL)
ACTIVE = ("Admitted", "Running", "Retrying")
# One operator process admits at a time per namespace (run one replica, as Kopf's peering does).
_admission: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Standalone, events for INFO and up, our finalizer, the client configured."""
    operators.configure(settings, finalizer="ml.aiinfra.dev/trainop")


kopf.on.login()(operators.login)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason,
            "message": message, "lastTransitionTime": _iso(_now())}  # fmt: skip


def _set_phase(
    body: kopf.Body, patch: kopf.Patch, phase: str, reason: str, message: str, *, warn: bool = False
) -> None:
    status = body.get("status") or {}
    patch.status["phase"] = phase
    patch.status["message"] = message
    patch.status["conditions"] = [condition(phase, phase != "Failed", reason, message)]
    if status.get("phase") != phase or status.get("message") != message:
        (kopf.warn if warn else kopf.info)(body, reason=reason, message=message)


def gpus_in_use(api: Api, namespace: str, except_name: str) -> int:
    """GPUs reserved by the namespace's other admitted, unfinished training jobs (what they
    were admitted with, not what their spec says now)."""
    used = 0
    for item in api.training_jobs(namespace):
        if item["metadata"]["name"] == except_name:
            continue
        status = item.get("status") or {}
        if status.get("phase") in ACTIVE:
            spec, _ = parse_spec(status.get("admittedSpec") or item.get("spec", {}))
            used += spec.gpus if spec else 0
    return used


def _refusal(api: Api, namespace: str, name: str, spec: MLTrainingJobSpec) -> str | None:
    """Why ``spec`` does not fit the namespace's GPU budget now; None when it fits.
    Call with the namespace's admission lock held."""
    quota = api.gpu_quota(namespace)
    if quota is None or not spec.gpus:
        return None
    used = gpus_in_use(api, namespace, name)
    if used + spec.gpus <= quota:
        return None
    return f"needs {spec.gpus} GPUs; {used} of the namespace's {quota} are in use"


def _reserve(api: Api, body: kopf.Body, spec: MLTrainingJobSpec, fields: dict[str, Any]) -> None:
    """Write the reservation now (Kopf's own patch lands only after the handler returns)."""
    meta = body["metadata"]
    status = {"admittedSpec": spec.model_dump(mode="json"), "gpus": spec.gpus,
              "admittedGeneration": meta.get("generation", 1), **fields}  # fmt: skip
    api.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, meta["namespace"], PLURAL, meta["name"], {"status": status}
    )


def _admit(api: Api, body: kopf.Body, patch: kopf.Patch, spec: MLTrainingJobSpec) -> bool:
    """Reserve the job's GPUs, or mark it Refused. True when admitted."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    with _admission[namespace]:
        why = _refusal(api, namespace, name, spec)
        if why is None:
            _reserve(api, body, spec, {"phase": "Admitted", "message": "GPUs reserved"})
    if why is not None:
        _set_phase(body, patch, "Refused", "QuotaExceeded", why, warn=True)
        return False
    patch.status["phase"] = "Admitted"
    patch.status["admittedSpec"] = spec.model_dump(mode="json")
    patch.status["admittedGeneration"] = body["metadata"].get("generation", 1)
    patch.status["startedAt"] = _iso(_now())
    return True


def _reconsider(
    api: Api, body: kopf.Body, patch: kopf.Patch, admitted: MLTrainingJobSpec
) -> MLTrainingJobSpec:
    """The spec the next attempt runs, after an edit to an admitted job: the edit when it is
    valid and fits the budget (admitted again), else the spec admitted before."""
    meta, status = body["metadata"], body.get("status") or {}
    generation = meta.get("generation", 1)
    if status.get("admittedGeneration", generation) == generation:
        return admitted
    if status.get("specChangeGeneration") == generation:
        return admitted  # this edit was refused already
    edited, problems = parse_spec(dict(body.get("spec", {})))
    if edited == admitted:
        patch.status["admittedGeneration"] = generation
        return admitted
    why = "; ".join(problems) if edited is None else None
    if edited is not None:
        with _admission[meta["namespace"]]:
            why = _refusal(api, meta["namespace"], meta["name"], edited)
            if why is None:
                _reserve(api, body, edited, {})
    if why is None and edited is not None:
        message = f"spec change admitted ({edited.gpus} GPUs): applies from the next attempt"
        patch.status["specChange"] = message
        patch.status["admittedSpec"] = edited.model_dump(mode="json")
        patch.status["admittedGeneration"] = generation
        patch.status["gpus"] = edited.gpus
        kopf.info(body, reason="SpecChangeAdmitted", message=message)
        return edited
    message = f"spec change refused ({why}); the attempts keep the admitted spec"
    patch.status["specChange"] = message
    patch.status["specChangeGeneration"] = generation
    kopf.warn(body, reason="SpecChangeRefused", message=message)
    return admitted


def _ensure_children(api: Api, body: kopf.Body, spec: MLTrainingJobSpec, attempt: int) -> list[str]:
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    made = []
    for manifest in (
        children.configmap(name, namespace, spec),
        children.pvc(name, namespace, spec),
        children.headless_service(name, namespace, spec),
        children.job(name, namespace, spec, attempt),
    ):
        kopf.adopt(manifest, owner=body)
        if api.ensure(manifest):
            made.append(f"{manifest['kind']}/{manifest['metadata']['name']}")
    return made


def _job_outcome(job: dict[str, Any], workers: int) -> tuple[str | None, str]:
    """("Complete" | "Failed" | None, reason) from a Job's status."""
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return cond["type"], cond.get("reason") or cond["type"]
    if int(status.get("succeeded") or 0) >= workers:
        return "Complete", "AllWorkersSucceeded"
    if int(status.get("failed") or 0) > 0:
        return "Failed", "WorkerFailed"
    return None, ""


def _cleanup(api: Api, name: str, namespace: str, attempt: int, *, pvc: bool) -> None:
    api.delete("Job", children.job_name(name, attempt), namespace)
    api.delete("Service", name, namespace)
    api.delete("ConfigMap", f"{name}-hparams", namespace)
    if pvc:
        api.delete("PersistentVolumeClaim", f"{name}-checkpoints", namespace)


_deleting: set[str] = set()


def drive(body: kopf.Body, patch: kopf.Patch, logger: Any) -> None:
    """Take the next step for this training job, one step at a time per job: the create
    handler, the timer and the delete handler of one object never overlap (Kopf may run a
    timer while a deletion starts; without the lock it could recreate a child just deleted)."""
    uid = body["metadata"]["uid"]
    with operators.object_lock(uid):
        if uid in _deleting:
            return
        # Kopf's body is live: a watch event replaces it under a running handler. Work on one
        # snapshot per step, or the generation of an edit can be read together with the spec
        # from before it (seen under CI load: a timer that had waited for this lock admitted
        # the old spec under the new generation, and the edit was never answered).
        _drive(kopf.Body(cast("kopf.RawBody", copy.deepcopy(dict(body)))), patch, logger)


def _drive(body: kopf.Body, patch: kopf.Patch, logger: Any) -> None:
    status = body.get("status") or {}
    phase = status.get("phase")
    if phase in ("Succeeded", "Failed") or body["metadata"].get("deletionTimestamp"):
        return  # finished, or being deleted (the delete handler owns the children now)
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    api = Api()
    attempt = int(status.get("attempt") or 1)
    admitted = status.get("admittedSpec") if phase in ACTIVE else None
    if admitted is not None:
        spec = _reconsider(api, body, patch, MLTrainingJobSpec.model_validate(admitted))
    else:
        parsed, problems = parse_spec(dict(body.get("spec", {})))
        if parsed is None:
            _set_phase(body, patch, "Invalid", "InvalidSpec", "; ".join(problems), warn=True)
            return
        spec = parsed
        patch.status["gpus"] = spec.gpus
        if not _admit(api, body, patch, spec):
            return
    if phase == "Retrying":
        due = datetime.strptime(status["nextRetryAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        if _now() < due:
            return
        api.delete("Job", children.job_name(name, attempt), namespace)
        attempt += 1
    made = _ensure_children(api, body, spec, attempt)
    for child in made:
        kopf.info(body, reason="Created", message=child)
    patch.status["attempt"] = attempt
    patch.status["job"] = children.job_name(name, attempt)
    if spec.mlflow:
        patch.status["mlflowRunLink"] = (
            f"{spec.mlflow.trackingUri.rstrip('/')}/#/experiments?searchFilter="
            f"attributes.run_name%3D%27{children.job_name(name, attempt)}%27"
        )
    job = api.read("Job", children.job_name(name, attempt), namespace) or {}
    outcome, reason = _job_outcome(job, spec.workers)
    if outcome is None:
        if phase != "Running":
            _set_phase(body, patch, "Running", "AttemptStarted",
                       f"attempt {attempt}: {spec.workers} workers, {spec.gpus} GPUs")  # fmt: skip
        return
    if outcome == "Complete":
        patch.status["completionTime"] = _iso(_now())
        _set_phase(body, patch, "Succeeded", "TrainingComplete", f"attempt {attempt} completed")
        if spec.cleanupPolicy == "Delete":
            _cleanup(api, name, namespace, attempt, pvc=False)
        return
    retryable = reason != "DeadlineExceeded" and attempt <= spec.backoffLimit
    if not retryable:
        why = "the deadline passed" if reason == "DeadlineExceeded" else "no retries left"
        _set_phase(body, patch, "Failed", reason, f"attempt {attempt} failed ({reason}); {why}",
                   warn=True)  # fmt: skip
        if spec.cleanupPolicy == "Delete":
            _cleanup(api, name, namespace, attempt, pvc=False)
        return
    wait = children.backoff_seconds(spec, attempt)
    patch.status["nextRetryAt"] = (_now() + timedelta(seconds=wait)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    patch.status["failures"] = int(status.get("failures") or 0) + 1
    _set_phase(body, patch, "Retrying", "AttemptFailed",
               f"attempt {attempt} failed ({reason}); retry {attempt + 1} in {wait:g} s",
               warn=True)  # fmt: skip
    logger.info("attempt %s failed; retrying in %s s", attempt, wait)


@kopf.on.create(*RESOURCE)
@kopf.on.resume(*RESOURCE)
def start_job(body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    drive(body, patch, logger)


@kopf.timer(*RESOURCE, interval=POLL_INTERVAL, initial_delay=POLL_INTERVAL)
def poll(body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    drive(body, patch, logger)


@kopf.on.delete(*RESOURCE)
def delete_job(body: kopf.Body, logger: Any, **_: Any) -> None:
    uid = body["metadata"]["uid"]
    with operators.object_lock(uid):  # waits for a step in flight; none starts after this
        _deleting.add(uid)
    spec, _problems = parse_spec(dict(body.get("spec", {})))
    keep = spec is not None and spec.cleanupPolicy == "Keep"
    api = Api()
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    for job in api.list_jobs(namespace, name):
        api.delete("Job", job["metadata"]["name"], namespace)
    _cleanup(
        api, name, namespace, int((body.get("status") or {}).get("attempt") or 1), pvc=not keep
    )
    logger.info("children deleted%s", " (checkpoints kept)" if keep else "")
