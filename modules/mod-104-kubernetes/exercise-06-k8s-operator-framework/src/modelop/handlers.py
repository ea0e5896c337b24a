"""The Kopf handlers of the MLModel operator (``kopf run -m modelop.handlers``).

- create / update / resume: validate the spec, reconcile the children
  (:func:`modelop.reconcile.reconcile`), write ``status`` (phase, conditions, children,
  observedGeneration). An invalid spec is reported in ``status`` (phase ``Invalid``) and as a
  Warning event; the handler does not raise, so Kopf does not retry what cannot succeed.
- field handlers for ``spec.version`` (a rolling update: the pod template changes) and
  ``spec.replicas``: the same reconciliation, plus an event that says what happened.
- delete: removes the children it owns (a real cluster's garbage collector would too).
- a timer (``MODELOP_HEALTH_INTERVAL`` seconds) reconciles again (drift made behind the
  operator's back is repaired, and an operator restarted mid-reconcile finishes the job), then
  reads the Deployment's status and sets the phase the way ``kubectl rollout status`` decides:
  ``Ready`` once the Deployment controller has seen the latest spec (``observedGeneration``)
  and every wanted replica is updated to it and available with no old one left,
  ``Progressing`` while a rollout is under way, ``Degraded`` when it was ready and lost
  replicas without a spec change.

Never name this module ``operator.py``: it would shadow the standard library's.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import kopf

from aiinfra_shared import operators
from modelop.reconcile import Api, Outcome, delete_children, reconcile
from modelop.spec import GROUP, PLURAL, VERSION, MLModelSpec, parse_spec

HEALTH_INTERVAL = float(os.environ.get("MODELOP_HEALTH_INTERVAL", "15"))
RESOURCE = (GROUP, VERSION, PLURAL)


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Standalone, events for INFO and up, our finalizer, the client configured."""
    operators.configure(settings, finalizer="ml.aiinfra.dev/modelop")


kopf.on.login()(operators.login)


def condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _changes(outcome: Outcome) -> list[str]:
    return outcome.created + outcome.adopted + outcome.patched + outcome.deleted


def _body(body: kopf.Body) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "metadata": dict(body["metadata"]),
        "spec": dict(body.get("spec", {})),
    }


def apply(
    body: kopf.Body, patch: kopf.Patch, logger: Any, *, report: bool = True
) -> MLModelSpec | None:
    """Validate and reconcile; write status. Returns the spec, or None when invalid (a Warning
    event says why when ``report``: the main handler reports, the field handlers do not)."""
    with operators.object_lock(body["metadata"]["uid"]):
        return _apply(body, patch, logger, report=report)


def _apply(body: kopf.Body, patch: kopf.Patch, logger: Any, *, report: bool) -> MLModelSpec | None:
    spec, problems = parse_spec(dict(body.get("spec", {})))
    generation = body["metadata"].get("generation")
    if spec is None:
        message = "; ".join(problems)
        patch.status["phase"] = "Invalid"
        patch.status["observedGeneration"] = generation
        patch.status["conditions"] = [condition("Valid", False, "ValidationFailed", message)]
        if report:
            kopf.warn(body, reason="InvalidSpec", message=message)
            logger.warning("invalid spec: %s", message)
        return None
    owner = _body(body)
    outcome = reconcile(Api(), owner, spec)
    name = owner["metadata"]["name"]
    for what, verb in ((outcome.created, "Created"), (outcome.adopted, "Adopted"),
                       (outcome.patched, "Updated"), (outcome.deleted, "Deleted")):  # fmt: skip
        for child in what:
            kopf.info(body, reason=verb, message=f"{verb} {child}")
    previous = (body.get("status") or {}).get("phase")
    patch.status["phase"] = (
        previous if previous in ("Ready", "Degraded") and not outcome.changed else "Progressing"
    )
    patch.status["observedGeneration"] = generation
    patch.status["currentVersion"] = spec.version
    patch.status["children"] = {
        "deployment": f"{name}-predictor",
        "service": name,
        "hpa": name if spec.autoscaling.enabled else None,
    }
    patch.status["conditions"] = [
        condition("Valid", True, "SpecValid", "spec passed validation"),
        condition("Reconciled", True, "ChildrenInSync",
                  "children match the spec" if not outcome.changed else
                  "changed: " + ", ".join(_changes(outcome))),
    ]  # fmt: skip
    return spec


@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE)
@kopf.on.resume(*RESOURCE)
def reconcile_model(body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    """Converge the children to the spec (level-triggered: safe to run any number of times)."""
    apply(body, patch, logger)


@kopf.on.field(*RESOURCE, field="spec.version")
def version_changed(
    old: Any, new: Any, body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A new model version: the pod template changes, so the Deployment rolls its pods."""
    if apply(body, patch, logger, report=False) is not None and old is not None:
        kopf.info(body, reason="RollingUpdate", message=f"version {old} -> {new}")


@kopf.on.field(*RESOURCE, field="spec.replicas")
def replicas_changed(
    old: Any, new: Any, body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    """A new replica count (applied to the Deployment when autoscaling is off)."""
    if apply(body, patch, logger, report=False) is not None and old is not None:
        kopf.info(body, reason="Scaled", message=f"replicas {old} -> {new}")


@kopf.on.delete(*RESOURCE)
def delete_model(body: kopf.Body, logger: Any, **_: Any) -> None:
    """Delete the owned children before the finalizer is released."""
    with operators.object_lock(body["metadata"]["uid"]):
        gone = delete_children(Api(), _body(body))
    logger.info("deleted %s", ", ".join(gone) or "nothing")


def rollout_status(deployment: dict[str, Any], wanted: int) -> tuple[bool, int, str | None]:
    """(rollout complete, ready replicas, what a rollout still waits for or None), by the
    rules of ``kubectl rollout status``: the controller has observed the Deployment's latest
    generation, all wanted replicas run the new template, no old replica is left, and the
    updated ones are available."""
    generation = int(deployment["metadata"].get("generation") or 0)
    st = deployment.get("status") or {}
    observed = int(st.get("observedGeneration") or 0)
    updated = int(st.get("updatedReplicas") or 0)
    total = int(st.get("replicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    ready = int(st.get("readyReplicas") or 0)
    if observed < generation:
        return False, ready, "the Deployment controller has not seen the new spec yet"
    if updated < wanted:
        return False, ready, f"{updated} of {wanted} replicas updated"
    if total > updated:
        return False, ready, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, ready, f"{available} of {updated} updated replicas available"
    return True, ready, None


@kopf.timer(*RESOURCE, interval=HEALTH_INTERVAL, initial_delay=min(HEALTH_INTERVAL, 5))
def health(body: kopf.Body, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    """Level-triggered upkeep: repair drift (a child deleted or edited behind the operator's
    back, or left half-done by a restart), then set the phase from the Deployment's status:
    Ready, Progressing or Degraded."""
    status = body.get("status") or {}
    if status.get("phase") == "Invalid":
        return
    spec, _problems = parse_spec(dict(body.get("spec", {})))
    if spec is None:
        return
    with operators.object_lock(body["metadata"]["uid"]):
        outcome = reconcile(Api(), _body(body), spec)
    for child in _changes(outcome):
        kopf.info(body, reason="DriftRepaired", message=child)
        logger.info("drift repaired: %s", child)
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    deployment = Api().read("Deployment", f"{name}-predictor", namespace)
    if deployment is None:
        return
    wanted = spec.autoscaling.minReplicas if spec.autoscaling.enabled else spec.replicas
    done, ready, why = rollout_status(deployment, wanted)
    generation = int(deployment["metadata"].get("generation") or 0)
    if done:
        phase = "Ready"
        patch.status["readyGeneration"] = generation
    elif (
        status.get("phase") in ("Ready", "Degraded") and status.get("readyGeneration") == generation
    ):
        phase = "Degraded"  # the spec it was ready at, with replicas lost since
    else:
        phase = "Progressing"
    patch.status["readyReplicas"] = ready
    if phase != status.get("phase"):
        patch.status["phase"] = phase
        patch.status["conditions"] = [
            c for c in status.get("conditions", []) if c.get("type") != "Available"
        ] + [condition("Available", phase == "Ready", phase,
                       why or f"{ready}/{wanted} replicas ready")]  # fmt: skip
        if phase == "Degraded":
            kopf.warn(body, reason="Degraded", message=f"{ready}/{wanted} replicas ready")
    patch.status["message"] = why or f"{ready}/{wanted} replicas ready"
