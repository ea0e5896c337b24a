"""The lock format: hash-checked requirements that pip and uv both install."""

from __future__ import annotations

from pathlib import Path

import pytest
from envmgr.errors import LockError
from envmgr.lockfile import read_lock, write_lock
from envmgr.manager import human_size
from envmgr.spec import Indexes

HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def test_a_written_lock_reads_back_with_its_header_indexes_and_hashes(tmp_path: Path) -> None:
    path = tmp_path / "envmgr.lock"
    write_lock(path, {"name": "x", "python": "3.11", "spec": "abc"},
               {"zeta": ("1.0", [HASH_B, HASH_A]), "alpha-lib": ("2.1", [HASH_A])},
               Indexes("http://127.0.0.1:9/simple", ("https://extra/simple",)))  # fmt: skip
    text = path.read_text()
    assert "--index-url http://127.0.0.1:9/simple\n--extra-index-url https://extra/simple" in text
    assert text.index("alpha-lib==2.1") < text.index("zeta==1.0")  # sorted
    lock = read_lock(path)
    assert lock.header == {"name": "x", "python": "3.11", "spec": "abc"}
    assert lock.pins == {"alpha-lib": "2.1", "zeta": "1.0"}
    assert lock.hashes["zeta"] == [HASH_A, HASH_B]


def test_a_pin_without_a_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "envmgr.lock"
    with pytest.raises(LockError, match=r"no hash for numpy==2\.0"):
        write_lock(path, {}, {"numpy": ("2.0", [])}, Indexes())
    assert not path.exists()
    path.write_text(f"idna==3.7 \\\n    --hash={HASH_A}\nrequests==2.32.0\n")
    with pytest.raises(LockError, match="no hash for requests"):
        read_lock(path)
    path.write_text("this is not a requirement\n")
    with pytest.raises(LockError, match=r"envmgr.lock:1: not a pinned requirement"):
        read_lock(path)
    with pytest.raises(LockError, match="no lock file; run `envmgr lock`"):
        read_lock(tmp_path / "missing.lock")


def test_sizes_read_like_a_person_would_write_them() -> None:
    assert [human_size(n) for n in (0, 999, 31_644, 22_900_000, 5 * 10**12)] == [
        "0 B", "999 B", "31.6 kB", "22.9 MB", "5000.0 GB"]  # fmt: skip
