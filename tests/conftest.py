"""Shared fixtures: the repository's paths, a parameters directory to break, and moto on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Nothing in the tests may reach AWS: fake credentials, no profile, no metadata service.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    # --local in the tests never finds an emulator a developer started (`herd-cfn local start`).
    "HERD_CFN_LOCAL_FILE": os.path.join(tempfile.gettempdir(), f"herd-cfn-tests-{os.getpid()}.json"),
})
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of parameters/ and output/ in a temp dir, for tests that break or rebuild them."""
    shutil.copytree(ROOT / "parameters", tmp_path / "parameters")
    if (ROOT / "output").is_dir():
        shutil.copytree(ROOT / "output", tmp_path / "output")
    return tmp_path


@pytest.fixture(scope="session")
def local_aws():
    """moto in server mode on 127.0.0.1 (one per test session; use ``aws`` for a clean state)."""
    from herd_cfn.emulator.server import LocalAws

    server = LocalAws().start()
    yield server
    server.stop()


@pytest.fixture
def aws(local_aws):
    """The emulator, reset to empty before the test."""
    local_aws.reset()
    return local_aws
