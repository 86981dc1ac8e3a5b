"""A local AWS (moto in server mode) on 127.0.0.1, for the tests, the benchmarks and ``--local``.

Only ever bound to the loopback address. moto keeps one backend per account: plain credentials land
in its default account 123456789012, and credentials returned by ``sts:AssumeRole`` into
``arn:aws:iam::<account>:role/...`` act in <account>. :func:`account_session` uses that, which is
also how real cross-account access works.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class LocalAws:
    """moto's ThreadedMotoServer on 127.0.0.1 at a free port."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=self.port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> LocalAws:
        from herd_cfn.emulator.fixes import install as install_fixes

        # Every user of the emulator (tests, benchmark, --local) gets the same moto: the server runs in
        # this process, so the fixes apply to it.
        install_fixes()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset API), between tests."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@contextmanager
def fake_credentials() -> Iterator[None]:
    """Credentials that only moto accepts, so nothing can reach a real account by mistake."""
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_PROFILE")}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_MOTO_SKIP_MESSAGE = "No Moto CloudFormation support for %s"


@contextmanager
def skipped_resource_types() -> Iterator[set[str]]:
    """The resource types moto's CloudFormation skipped (created nothing, reported success) while the
    block ran, collected instead of moto's two warnings per resource and stack."""
    import logging
    import warnings

    skipped: set[str] = set()

    def collect(record: logging.LogRecord) -> bool:
        if record.msg != _MOTO_SKIP_MESSAGE:
            return True
        skipped.add(str(record.args[0]))  # type: ignore[index]
        return False

    logger = logging.getLogger("moto")
    logger.addFilter(collect)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tried to parse .* not supported by moto", category=UserWarning)
            yield skipped
    finally:
        logger.removeFilter(collect)


DEFAULT_ACCOUNT = "123456789012"  # moto's account for credentials that assumed no role


def account_session(endpoint_url: str, account_id: str, region: str):
    """A boto3 Session acting in ``account_id`` of the emulator (via sts:AssumeRole)."""
    import boto3

    base = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    if account_id == DEFAULT_ACCOUNT:
        return base
    credentials = base.client("sts", endpoint_url=endpoint_url).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/herd-emulated-access", RoleSessionName="herd-cfn"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
