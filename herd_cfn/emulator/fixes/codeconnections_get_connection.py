"""``codeconnections:GetConnection`` (and ``codestar-connections:GetConnection``) of the connections the
emulator recorded.

Gap: moto has no CodeConnections service; the fix ``recorded_only`` records the pipeline stack's
AWS::CodeConnections::Connection, but nothing answered GetConnection, so ``herd-cfn status`` and
``doctor`` could not say the connection is PENDING.
AWS: the CodeConnections API reference of GetConnection (a ``Connection`` with ConnectionName,
ConnectionArn, ProviderType, OwnerAccountId and ConnectionStatus; ``ResourceNotFoundException`` for an
unknown ARN). botocore speaks Smithy RPC v2 CBOR to codeconnections (``POST
/service/<target prefix>/operation/GetConnection``, header ``smithy-protocol: rpc-v2-cbor``) and AWS JSON
1.0 to codestar-connections (``X-Amz-Target: com.amazonaws.codestar.connections.
CodeStar_connections_20191201.GetConnection``); both are
answered. A connection recorded here stays PENDING: on AWS a person completes the handshake in the console.
"""

from __future__ import annotations

import json
from typing import Any

_CBOR_PREFIX = "/service/com.amazonaws.codeconnections.CodeConnections_20231201/operation/"
_JSON_TARGETS = ("com.amazonaws.codeconnections.CodeConnections_20231201.",
                 "com.amazonaws.codestar.connections.CodeStar_connections_20191201.")
_SERVICES = {"cbor": "codeconnections", "json": "codestar-connections"}


def _operation(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(protocol, operation) of a connections request, None for any other request."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(_CBOR_PREFIX):
        return "cbor", path[len(_CBOR_PREFIX):]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    for prefix in _JSON_TARGETS:
        if target.startswith(prefix):
            return "json", target[len(prefix):]
    return None


def _decode(protocol: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if protocol == "json":
        return json.loads(body)
    from botocore.parsers import RpcV2CBORParser

    return RpcV2CBORParser()._initial_body_parse(body)


def _encode(protocol: str, operation: str, result: dict[str, Any]) -> bytes:
    if protocol == "json":
        return json.dumps(result).encode()
    import botocore.session
    from botocore.serialize import RpcV2CBORSerializer

    shape = botocore.session.get_session().get_service_model(_SERVICES[protocol]) \
        .operation_model(operation).output_shape
    return RpcV2CBORSerializer()._serialize_body_params(result, shape)


def _answer(operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from .recorded_only import connection

    if operation != "GetConnection":
        return 400, {"__type": "UnsupportedOperationException",
                     "message": f"the emulator answers only GetConnection, not {operation}"}
    arn = str(request.get("ConnectionArn", ""))
    found = connection(arn)
    if found is None:
        return 400, {"__type": "ResourceNotFoundException", "message": f"Connection {arn} not found"}
    return 200, {"Connection": {k: v for k, v in found.items() if v is not None}}


def handle(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """The response to a connections request, None for any other request (moto answers it)."""
    found = _operation(environ)
    if found is None:
        return None
    protocol, operation = found
    length = int(environ.get("CONTENT_LENGTH") or 0)
    status, result = _answer(operation, _decode(protocol, environ["wsgi.input"].read(length)))
    if status != 200 or protocol == "json":
        body = json.dumps(result).encode() if protocol == "json" else _error_cbor(result)
    else:
        body = _encode(protocol, operation, result)
    headers = [("Content-Type", "application/x-amz-json-1.0" if protocol == "json" else "application/cbor"),
               ("Content-Length", str(len(body)))]
    if protocol == "cbor":
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
    start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}", headers)
    return [body]


def _error_cbor(error: dict[str, Any]) -> bytes:
    from botocore.serialize import RpcV2CBORSerializer

    serialized = bytearray()
    serializer = RpcV2CBORSerializer()
    serializer._serialize_type_map(serialized, error, _StringMap(), None)
    return bytes(serialized)


class _StringMap:
    """Just enough of a botocore map shape (string -> string) to serialize an error body."""

    type_name = "map"

    class _String:
        type_name = "string"

    key = value = _String()


def install() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication.__call__, "_herd_connections", False):
        return
    original = DomainDispatcherApplication.__call__

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        answered = handle(environ, start_response)
        return original(self, environ, start_response) if answered is None else answered

    __call__._herd_connections = True  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = __call__
