"""``AWS::WAFv2::WebACL``, ``WebACLAssociation`` and ``LoggingConfiguration`` in moto's WAFv2.

Gap: moto's WAFv2 has no CloudFormation models: the edge stack's web ACL (prod's `edge.waf: count`) was
skipped ("No Moto CloudFormation support"), so nothing could read it back and its association and
logging configuration named nothing.
AWS: the CloudFormation resource reference of AWS::WAFv2::WebACL (Ref: ``name|id|scope``; GetAtt
``Arn``, ``Id``, ``Capacity``, ``LabelNamespace``), AWS::WAFv2::WebACLAssociation (Ref: the resource
ARN and the web ACL ARN) and AWS::WAFv2::LoggingConfiguration (Ref: the web ACL ARN); CreateWebACL,
AssociateWebACL and PutLoggingConfiguration of the WAFv2 API reference.
"""

from __future__ import annotations

import base64
from typing import Any

from ._model import Resource, register


def _api_shape(value: Any) -> Any:
    """CloudFormation's rules in the API's shape: ``SearchString`` is a plain string in a template and a
    blob (base64 on the wire) in the API, which is what moto stores and answers."""
    if isinstance(value, dict):
        return {k: base64.b64encode(v.encode()).decode() if k == "SearchString" and isinstance(v, str)
                else _api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    return value


def _backend(account_id: str, region: str) -> Any:
    from moto.wafv2.models import wafv2_backends

    return wafv2_backends[account_id][region]


class WebAcl(Resource):
    TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "Id", "Capacity", "LabelNamespace")

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        acl = _backend(account_id, region).create_web_acl(
            name=name, visibility_config=properties["VisibilityConfig"], default_action=properties["DefaultAction"],
            scope=properties["Scope"], description=properties.get("Description", ""),
            tags=properties.get("Tags") or [], rules=_api_shape(properties.get("Rules") or []),
            association_config=None, captcha_config=None, challenge_config=None,
            custom_response_bodies=properties.get("CustomResponseBodies"), token_domains=None)
        return cls(f"{name}|{acl.id}|{properties['Scope']}", {
            "Arn": acl.arn, "Id": acl.id, "Capacity": 0,
            "LabelNamespace": f"awswaf:{account_id}:webacl:{name}:"}, arn=acl.arn)

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).wacls.pop(self.state["arn"], None)


class WebAclAssociation(Resource):
    TYPE = "AWS::WAFv2::WebACLAssociation"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        _backend(account_id, region).associate_web_acl(properties["WebACLArn"], properties["ResourceArn"])
        return cls(f"{properties['ResourceArn']}|{properties['WebACLArn']}", resource=properties["ResourceArn"])

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).disassociate_web_acl(self.state["resource"])


class LoggingConfiguration(Resource):
    TYPE = "AWS::WAFv2::LoggingConfiguration"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        arn = properties["ResourceArn"]
        _backend(account_id, region).put_logging_configuration(
            arn, properties["LogDestinationConfigs"], properties.get("RedactedFields"), False,
            properties.get("LoggingFilter"))
        return cls(arn)

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).logging_configurations.pop(self.ref, None)


def install() -> None:
    register(WebAcl, WebAclAssociation, LoggingConfiguration)
