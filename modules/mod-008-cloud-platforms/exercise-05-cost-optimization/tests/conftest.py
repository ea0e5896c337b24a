from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from costopt.demo import POLICIES

from aiinfra_shared.services import start


@pytest.fixture(scope="session")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto server for the session; boto3 pointed at it for every service."""
    mp = pytest.MonkeyPatch()
    with start("s3", workdir=tmp_path_factory.mktemp("moto")) as service:
        for key, value in service.env.items():
            mp.setenv(key, value)
        mp.setenv("AWS_ENDPOINT_URL", service.url)
        yield service.url
    mp.undo()


@pytest.fixture
def fleet(aws: str) -> Iterator[dict[str, Any]]:
    """The demo fleet, launched for one test and terminated after it."""
    from costopt.aws import client, launch_fleet
    from costopt.usage import FLEET

    ec2 = client("ec2")
    ids = launch_fleet(ec2, FLEET)
    names = {s["tags"]["Name"]: i for s, i in zip(FLEET, ids, strict=True)}
    yield {"ec2": ec2, "ids": ids, "by_name": names}
    ec2.terminate_instances(InstanceIds=ids)


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies.toml"
    path.write_text(POLICIES)  # the demo's policies: the tests check what the demo shows
    return path
