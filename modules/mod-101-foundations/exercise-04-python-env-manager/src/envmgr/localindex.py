"""A private package index on loopback: small wheels built here, served over HTTP as a
PEP 503 "simple" index, the way a platform team's mirror (devpi, Artifactory, a bucket
behind nginx) serves its own packages.

The demo, the tests and the benchmark point ``index_url`` at it, so they resolve, lock and
install real wheels through the real tools without touching PyPI: fast, repeatable, offline.
Each wheel is a genuine one (``METADATA``, ``WHEEL``, a ``RECORD`` with hashes) that pip, uv
and poetry install like any other; the index links carry ``#sha256=`` so locks get hashes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import threading
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Dist:
    """One distribution to build: a module ``import_name`` with ``VERSION`` in it."""

    name: str
    version: str
    requires: tuple[str, ...] = ()

    @property
    def import_name(self) -> str:
        return canonicalize_name(self.name).replace("-", "_")


#: What the demo, the tests and the benchmark install: two versions of a library (so a lock
#: can be upgraded), one with a dependency (so ``pip check`` has something to check), and a
#: stray one to plant as drift.
DISTS = (
    Dist("acme-features", "1.0.0"),
    Dist("acme-features", "1.1.0"),
    Dist("acme-model", "2.0.0", ("acme-features>=1.0",)),
    Dist("acme-plot", "0.3.0"),
    Dist("stray-tool", "0.1.0"),
)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(dist: Dist, out: Path) -> Path:
    """A pure-Python ``py3-none-any`` wheel for ``dist`` in ``out``."""
    stem = f"{dist.import_name}-{dist.version}"
    info = f"{stem}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {dist.name}\nVersion: {dist.version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in dist.requires
    )
    files = {
        f"{dist.import_name}/__init__.py": f'"""{dist.name}, built by envmgr."""\n\n'
        f'VERSION = "{dist.version}"\n',
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: envmgr\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/top_level.txt": f"{dist.import_name}\n",
    }
    record = [f"{path},{_record_hash(text.encode())},{len(text.encode())}" for path, text in
              files.items()] + [f"{info}/RECORD,,"]  # fmt: skip
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            entry = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))  # same bytes each time
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text)
    return wheel


def write_index(root: Path, dists: Iterable[Dist] = DISTS) -> Path:
    """Build the wheels into ``root/files`` and the simple index into ``root/simple``."""
    by_project: dict[str, list[Path]] = {}
    for dist in dists:
        by_project.setdefault(canonicalize_name(dist.name), []).append(
            build_wheel(dist, root / "files")
        )
    simple = root / "simple"
    links = []
    for project, wheels in sorted(by_project.items()):
        anchors = []
        for wheel in wheels:
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            name = html.escape(wheel.name)
            anchors.append(f'<a href="../../files/{name}#sha256={digest}">{name}</a><br>')
        (simple / project).mkdir(parents=True, exist_ok=True)
        (simple / project / "index.html").write_text(_page(project, anchors))
        links.append(f'<a href="{project}/">{project}</a><br>')
    (simple / "index.html").write_text(_page("envmgr local index", links))
    return simple


def _page(title: str, lines: list[str]) -> str:
    body = "\n".join(lines)
    head = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n"
    return f"{head}{body}\n</body></html>\n"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log on the terminal."""


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) while the block runs; yields the index URL
    (``http://127.0.0.1:PORT/simple``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="envmgr-index", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
