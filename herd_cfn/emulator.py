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
        from herd_cfn.emulator_fixes import install as install_fixes

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


_EFS_ARN = "arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:%s/${%s}"
_EFS_KINDS = {"AWS::EFS::FileSystem": "file-system", "AWS::EFS::AccessPoint": "access-point"}


def adapt_for_moto(body: str) -> tuple[str, dict[str, int]]:
    """The template with what moto 5.2 cannot evaluate replaced by what AWS computes. EMULATOR ONLY:
    real AWS always gets the templates of output/ unchanged.

    - ``Fn::GetAtt [<EFS file system or access point>, Arn]``: moto's EFS models have no
      get_cfn_attribute (AttributeError, HTTP 500); replaced by the ARN AWS documents for them.

    Returns the JSON body and how often each replacement was made, so tests pin exactly what was
    adapted (and notice when a template stops needing it or a new stack needs more).
    """
    import json

    from cfn_flip import load_yaml

    template = load_yaml(body)
    counts = {"EFS Arn": 0}
    kinds = {k: _EFS_KINDS[v["Type"]] for k, v in template.get("Resources", {}).items() if v["Type"] in _EFS_KINDS}

    def walk(node):
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        attribute = node.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute[0] in kinds and attribute[1] == "Arn":
            counts["EFS Arn"] += 1
            return {"Fn::Sub": _EFS_ARN % (kinds[attribute[0]], attribute[0])}
        return {key: walk(value) for key, value in node.items()}

    return json.dumps(walk(template)), counts
