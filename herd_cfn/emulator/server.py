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


ADMIN_PATH = "/herd-emulator/"  # the emulator's own requests, next to moto's /moto-api/


class LocalAws:
    """moto's server (with herd-cfn's fixes) on 127.0.0.1, in a thread (:meth:`start`) or in the
    foreground (:meth:`serve`). Besides the AWS APIs it answers ``GET /herd-emulator/info`` (who it is, for
    ``herd-cfn local``), ``POST /herd-emulator/hosted-zone`` (a hosted zone an account already has on
    AWS, with the id the parameters name: Route 53 assigns ids itself, so no AWS call can create it) and
    ``POST /herd-emulator/secret`` (likewise a secret with the complete ARN the parameters name: Secrets
    Manager picks the ARN's last six characters itself)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._server = None
        self._thread = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _make_server(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from herd_cfn.emulator.fixes import install as install_fixes

        # Every user of the emulator (tests, benchmark, --local, `herd-cfn local start`) gets the same
        # moto: the server runs in this process, so the fixes apply to it.
        install_fixes()
        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            if environ.get("PATH_INFO", "").startswith(ADMIN_PATH):
                return _admin(environ, start_response)
            return moto_app(environ, start_response)

        self._server = make_server(LOOPBACK, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        return self._server

    def start(self) -> LocalAws:
        import threading

        server = self._make_server()
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """In the foreground until :meth:`stop` (e.g. from a signal handler) or KeyboardInterrupt."""
        (self._server or self._make_server()).serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()

    def reset(self) -> None:
        """Forget every resource (moto's reset API), between tests."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


def info() -> dict:
    from herd_cfn.emulator.fixes import FIXES
    from herd_cfn.emulator.fixes._model import RECORDED

    return {"emulator": "herd-cfn", "pid": os.getpid(), "fixes": list(FIXES),
            "recorded": recorded_types(RECORDED)}


def recorded_types(recorded: dict) -> list[str]:
    """The resource types of which the emulator holds resources it only recorded (no moto service)."""
    return sorted(t for t, resources in recorded.items() if resources)


def seed_hosted_zone(account_id: str, zone_id: str, domain: str) -> bool:
    """The public hosted zone ``zone_id`` for ``domain`` in ``account_id``; False if it was there already."""
    from moto.route53.models import route53_backends

    backend = route53_backends[account_id]["aws"]
    if zone_id in backend.zones:
        return False
    zone = backend.create_hosted_zone(domain.rstrip(".") + ".", private_zone=False)
    backend.zones.pop(zone.resource_id)
    zone.resource_id = zone_id
    backend.zones[zone_id] = zone
    return True


# A stand-in for the Docker Hub login that data.docker_hub_cache_secret_arn names (JSON keys ECR reads).
EMULATED_DOCKER_HUB_LOGIN = '{"username": "herd-emulator", "accessToken": "not-a-docker-hub-token"}'


def seed_secret(arn: str, secret_string: str = EMULATED_DOCKER_HUB_LOGIN) -> bool:
    """The secret with this complete ARN (``...:secret:<name>-<6 characters>``), in the ARN's account and
    region; False if it was there already."""
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.secretsmanager.utils import SecretsManagerSecretIdentifier
    from moto.utilities.id_generator import moto_id_manager

    region, account_id = arn.split(":")[3:5]
    name, suffix = arn.split(":secret:", 1)[1].rsplit("-", 1)
    backend = secretsmanager_backends[account_id][region]
    if arn in backend.secrets:
        return False
    identifier = SecretsManagerSecretIdentifier(account_id, region, name)
    moto_id_manager.set_custom_id(identifier, suffix)
    try:
        backend.create_secret(name=name, secret_string=secret_string, secret_binary=None, description=None,
                              tags=None, kms_key_id=None, client_request_token=None, replica_regions=[],
                              force_overwrite=False)
    finally:
        moto_id_manager.unset_custom_id(identifier)
    return True


# POST /herd-emulator/<path>: what the request body must name, and what seeds it.
_SEEDS = {
    "hosted-zone": (("account_id", "zone_id", "domain"), seed_hosted_zone),
    "secret": (("arn",), seed_secret),
}


def _admin(environ, start_response):
    import json

    path = environ["PATH_INFO"][len(ADMIN_PATH):]
    method = environ.get("REQUEST_METHOD", "GET")
    status, body = "404 Not Found", {"error": f"no such request: {method} {ADMIN_PATH}{path}"}
    if path == "info" and method == "GET":
        status, body = "200 OK", info()
    elif path in _SEEDS and method == "POST":
        fields, seed = _SEEDS[path]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        try:
            status, body = "200 OK", {"created": seed(*(request[field] for field in fields))}
        except (KeyError, TypeError, ValueError) as exc:
            status, body = "400 Bad Request", {"error": f"expected {', '.join(fields)} ({exc!r})"}
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


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
