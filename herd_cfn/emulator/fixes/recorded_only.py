"""Types moto has no backend for, recorded with the identifiers AWS documents: CodeConnections
connections and CodeStar Notifications rules.

Gap: moto has neither service, and its CloudFormation skipped both types silently; ``Fn::GetAtt
[GitHubConnection, ConnectionArn]`` then failed "references undefined resource".
AWS: the CloudFormation resource reference of AWS::CodeConnections::Connection (Ref and GetAtt
``ConnectionArn``: ``arn:aws:codeconnections:<region>:<account>:connection/<uuid>``; GetAtt
``ConnectionStatus`` is PENDING for a new connection until someone completes the handshake in the
console; ``OwnerAccountId``) and AWS::CodeStarNotifications::NotificationRule (Ref and GetAtt ``Arn``:
``arn:aws:codestar-notifications:<region>:<account>:notificationrule/<id>``). Both update in place
(a new ConnectionName replaces a connection).
"""

from __future__ import annotations

import uuid
from typing import Any

from ._model import RECORDED, Recorded, Resource, register


class Connection(Recorded):
    TYPE = "AWS::CodeConnections::Connection"
    ATTRIBUTES = ("ConnectionArn", "ConnectionStatus", "OwnerAccountId")

    @classmethod
    def identifiers(cls, account_id: str, region: str, name: str, properties: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
        arn = f"arn:aws:codeconnections:{region}:{account_id}:connection/{uuid.uuid4()}"
        return arn, {"ConnectionArn": arn, "ConnectionStatus": "PENDING", "OwnerAccountId": account_id}

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if properties.get("ConnectionName") != self.properties.get("ConnectionName"):
            self.remove()
            return self.create(self.account_id, self.region_name, name, properties)
        return super().update(name, properties)


def connection(arn: str) -> dict[str, Any] | None:
    """What ``codeconnections get-connection`` answers for a recorded connection (None if there is none)."""
    recorded = RECORDED.get(Connection.TYPE, {}).get(arn)
    if recorded is None:
        return None
    return {"ConnectionName": recorded.get("ConnectionName"), "ConnectionArn": arn,
            "ProviderType": recorded.get("ProviderType"), "OwnerAccountId": recorded["AccountId"],
            "ConnectionStatus": "PENDING"}


class NotificationRule(Recorded):
    TYPE = "AWS::CodeStarNotifications::NotificationRule"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def identifiers(cls, account_id: str, region: str, name: str, properties: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
        arn = f"arn:aws:codestar-notifications:{region}:{account_id}:notificationrule/{uuid.uuid4().hex}"
        return arn, {"Arn": arn}


def install() -> None:
    register(Connection, NotificationRule)
