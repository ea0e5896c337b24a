"""A Kubernetes API emulator on loopback: kmock's ``KubernetesEmulator`` plus a thin shim.

Run as ``python -m aiinfra_shared.services.kmock_server --port 6443``; the ``k8s`` launcher
(:mod:`aiinfra_shared.services.k8s`) does that and writes a kubeconfig for it.

kmock (by Kopf's author) serves discovery, create / get / list / watch / patch / delete over
HTTP and keeps objects in memory. What kmock 0.8 leaves out and this shim adds, because
operators depend on it:

- ``metadata.uid``, ``resourceVersion`` (a global counter, bumped on every write),
  ``creationTimestamp`` and ``generation`` (bumped when ``spec`` changes) on every object.
  Kopf's finalizer patch tests ``resourceVersion`` and fails without it.
- JSON patches (``application/json-patch+json``: add / replace / remove / test), applied to
  the stored object; a failed ``test`` is a 422, as on a real API server (Kopf retries).
- Creating a ``CustomResourceDefinition`` registers its API for discovery (kmock only serves
  resources it was told about), with the ``status`` subresource when the CRD declares one.
- A list carries the current ``resourceVersion`` and a watch from it replays only later
  writes (kmock replays every object, so a client that lists then watches saw each twice),
  then streams every write from the moment of its snapshot, including those made while the
  replay was still being sent.
- Namespaces ``default`` and ``kube-system`` exist from the start (Kopf serves a namespace
  only once it sees it), and ``/api/v1/namespaces`` is the Namespace resource (kmock 0.8
  parses it as a prefix).
- ``metadata.generateName`` makes a unique name (Kopf posts its events that way).
- A create answers 201 Created (kmock says 200; the kubernetes client then returns None).
- ``/version`` answers (``kubectl version`` and the operators' preflight probe it).
- The bundled list of built-in resources (Deployments, Services, Jobs, ...) is loaded.

What it still does not do (a real cluster does): schema validation and defaulting, admission,
RBAC, garbage collection by owner references, strategic-merge semantics (merges are naive:
dicts merge, lists are replaced), ``resourceVersion`` conflicts on update, 410 Gone on old
watches, and no controllers run (nothing turns a Deployment into pods or finishes a Job:
tests drive ``status`` themselves).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import enums, parsing, rendering
from kmock._internal.k8s import KubernetesError, KubernetesObjectNotFoundError

CRDS = "apiextensions.k8s.io/v1/customresourcedefinitions"
VERSION_INFO = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.0-kmock", "gitCommit": "kmock",
    "gitTreeState": "clean", "buildDate": "2024-08-13T00:00:00Z", "goVersion": "python",
    "compiler": "cpython", "platform": "linux/amd64",
}  # fmt: skip
_VERBS = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}


_parse_path = parsing.parse_path


def _parse_path_with_namespaces(path: str) -> parsing.ParsedPath:
    """kmock 0.8 reads ``/api/v1/namespaces[/NAME]`` as a namespace prefix with no resource
    (a 500 on listing namespaces, which Kopf does with ``--namespace``): the resource itself."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) <= 4:
        name = parts[3] if len(parts) == 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name, None)
    return _parse_path(path)


parsing.parse_path = _parse_path_with_namespaces


def _rv(meta: dict[str, Any]) -> int:
    """An object's resourceVersion as a number (0 when it has none)."""
    value = str(meta.get("resourceVersion", "0") or 0)
    return int(value) if value.isdigit() else 0


@attrs.frozen
class JsonPatchTestFailedError(KubernetesError):
    """A failed ``test`` op (the object changed since the client read it): 422, as a real API
    server answers, which Kopf takes as "retry on the next cycle"."""

    status: int = 422
    reason: str = "Invalid"
    message: str = "the JSON patch test operation failed"


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def apply_json_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply RFC 6902 ``add`` / ``replace`` / ``remove`` / ``test`` ops to a copy of ``doc``."""
    result = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(op["path"])
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        kind = op["op"]
        if kind == "test":
            current = target[int(last)] if isinstance(target, list) else target.get(last)
            if current != op.get("value"):
                raise JsonPatchTestFailedError(message=f"test failed at {op['path']}")
        elif kind in ("add", "replace"):
            if isinstance(target, list):
                if last == "-":
                    target.append(op["value"])
                elif kind == "add":
                    target.insert(int(last), op["value"])
                else:
                    target[int(last)] = op["value"]
            else:
                target[last] = op["value"]
        elif kind == "remove":
            if isinstance(target, list):
                del target[int(last)]
            else:
                target.pop(last, None)
        else:
            raise JsonPatchTestFailedError(
                status=400, reason="BadRequest", message=f"unsupported op {kind!r}"
            )
    return result


class ShimmedEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with object metadata, JSON patches and CRD registration."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()
        self._rv = 0
        for namespace in ("default", "kube-system"):  # what every cluster starts with
            self.objects["v1/namespaces", None, namespace] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "uid": str(uuid.uuid4()),
                    "resourceVersion": self._next_rv(),
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "status": {"phase": "Active"},
            }

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        listing = await super()._serve_list(request)
        if isinstance(listing, dict):
            listing["metadata"] = {"resourceVersion": str(self._rv)}
        return listing

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        """A watch from ``resourceVersion=N`` (what a client sends after listing) replays only
        objects written after N, then streams; kmock alone replays everything, so a client that
        listed first saw every object twice (and Kopf then patched with a stale version)."""
        since = request.params.get("resourceVersion", "")
        if not since.isdigit():
            async for event in super()._serve_watch(request):
                yield event
            return
        yield b""
        check = self._KubernetesEmulator__check  # type: ignore[attr-defined]
        assert request.resource is not None
        async with self._lock:
            # Mark the bus in the same critical section as the snapshot: a write that lands
            # while the replay is being sent is then streamed after it, not lost (it was, once
            # in a while under load: an operator never heard of a spec edit).
            mark = await self._buses[request.resource].mark()
            replay: list[dict[str, Any]] = [
                {"type": "ADDED", "object": obj.raw}
                for (resource, namespace, name), obj in self._objects.items()
                if resource == request.resource
                and not obj.deleted
                and check(request, resource, namespace, name, strict=False)
                and int(obj.raw.get("metadata", {}).get("resourceVersion", "0") or 0) > int(since)
            ]
        sent: dict[tuple[Any, Any], int] = {}
        for event in replay:
            meta = event["object"].get("metadata", {})
            sent[(meta.get("namespace"), meta.get("name"))] = _rv(meta)
            yield event
        async for event in mark:
            meta = event.get("object", {}).get("metadata", {})
            key = (meta.get("namespace"), meta.get("name"))
            if key in sent and _rv(meta) <= sent[key]:
                continue  # already in the replay (written between the mark and the snapshot)
            if check(
                request, request.resource, meta.get("namespace"), meta.get("name"), strict=False
            ):
                yield event

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for version in spec.get("versions", []):
            self.resources[f"{spec['group']}/{version['name']}/{names['plural']}"] = (
                kmock.ResourceInfo(
                    kind=names.get("kind"),
                    singular=names.get("singular"),
                    namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                    verbs=_VERBS,
                    shortnames=set(names.get("shortNames", [])),
                    categories=set(names.get("categories", [])),
                    subresources={"status"}
                    if "status" in version.get("subresources", {})
                    else set(),
                )
            )

    async def _json_patch(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        assert request.resource is not None
        assert request.name is not None
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key not in self._objects or self._objects[key].deleted:
                raise KubernetesObjectNotFoundError()
            stored = self._objects[key]
            new = apply_json_patch(stored.raw, list(request.data))
            meta = new.setdefault("metadata", {})
            meta["resourceVersion"] = self._next_rv()
            stored.history.append(kmock.ObjectVersion(new))
            bus = self._buses[request.resource]
            await bus.put({"type": "MODIFIED", "object": copy.deepcopy(new)})
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                stored.delete()
                await bus.put({"type": "DELETED", "object": copy.deepcopy(new)})
        return aiohttp.web.json_response(new)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None and request.url.path.rstrip("/") == "/version":
            return aiohttp.web.json_response(VERSION_INFO)  # what clients probe first
        if request.resource is not None:
            try:
                if request.action == enums.action.UPDATE and isinstance(request.data, list):
                    return await self._json_patch(request)
                if request.action == enums.action.CREATE and isinstance(request.data, dict):
                    meta = request.data.setdefault("metadata", {})
                    if not meta.get("name") and meta.get("generateName"):
                        meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
                    meta.setdefault("uid", str(uuid.uuid4()))
                    meta["resourceVersion"] = self._next_rv()
                    meta.setdefault(
                        "creationTimestamp",
                        datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                    meta["generation"] = 1
                    if request.namespace and not meta.get("namespace"):
                        meta["namespace"] = request.namespace
                    if str(request.resource) == CRDS or (
                        request.data.get("kind") == "CustomResourceDefinition"
                    ):
                        self._register_crd(request.data)
                elif request.action == enums.action.UPDATE and isinstance(request.data, dict):
                    meta = request.data.setdefault("metadata", {})
                    meta["resourceVersion"] = self._next_rv()
                    key = (request.resource, request.namespace, request.name or "")
                    if "spec" in request.data and key in self._objects:
                        current = self._objects[key]
                        if not current.deleted:
                            generation = int(current.raw.get("metadata", {}).get("generation", 1))
                            meta["generation"] = generation + 1
            except KubernetesError as exc:
                return await self._render_error(exc)
        response = await super()._handle(request)
        if request.action == enums.action.CREATE and response.status == 200:
            response.set_status(201)  # as a real API server answers a POST (clients rely on it)
        return response


async def serve(host: str, port: int) -> None:
    """Serve until cancelled."""
    async with ShimmedEmulator() as emulator, kmock.Server(emulator, host=host, port=port):
        print(json.dumps({"listening": f"http://{host}:{port}"}), flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
