"""How a template reaches CloudFormation (inline, or through S3 when too large) and how two are compared."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from herd_cfn.build.artifacts import MAX_TEMPLATE_BODY_BYTES, BuiltStack
from herd_cfn.errors import InputError
from herd_cfn.operations.aws import AwsContext, translate_errors


def normalise(body: str | dict | None) -> Any:
    """A template as data, so YAML vs JSON, key order and formatting do not count as changes."""
    if body is None:
        return None
    if isinstance(body, dict):  # boto3 parses JSON template bodies into dicts
        return json.loads(json.dumps(body, sort_keys=True))
    return json.loads(_normalised_yaml(body))


@lru_cache(maxsize=32)
def _normalised_yaml(body: str) -> str:
    # Parsed once per text: a rollout compares the same template for every account of a wave, and
    # PyYAML takes a good part of a second per parse. JSON text is cached, so no caller shares a dict.
    from cfn_flip import load_yaml

    return json.dumps(load_yaml(body), sort_keys=True, default=str)


def same_template(deployed: str | dict | None, wanted: str) -> bool:
    return normalise(deployed) == normalise(wanted)


def template_argument(ctx: AwsContext, built: BuiltStack, bucket: str | None, account_id: str,
                      region: str) -> dict[str, str]:
    """``TemplateBody`` when it fits, else upload to ``bucket`` and pass ``TemplateURL``.

    The key carries the content hash, so an unchanged template is never uploaded twice and a
    running operation never sees its template replaced.
    """
    if built.template_bytes <= MAX_TEMPLATE_BODY_BYTES:
        return {"TemplateBody": built.template_body}
    if not bucket:
        raise InputError(str(built.template_file), None,
                         f"template is {built.template_bytes} bytes, over CloudFormation's inline limit of "
                         f"{MAX_TEMPLATE_BODY_BYTES}; pass --template-bucket BUCKET (in {region}) to upload it to S3")
    digest = hashlib.sha256(built.template_body.encode("utf-8")).hexdigest()[:16]
    key = f"herd-cfn/{built.stack.name}/{digest}.yaml"
    s3 = ctx.client(ctx.session(account_id, region), "s3")
    with translate_errors(f"uploading {built.template_file} to s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=built.template_body.encode("utf-8"),
                      ContentType="application/x-yaml")
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}
