"""``AWS::S3::BucketPolicy`` and ``AWS::SNS::TopicPolicy`` set the policy of their bucket and topics.

Gap: moto's CloudFormation has no model of either type: the pipeline stack's artifact bucket policy
(TLS only) and notification topic policy (CodeStar Notifications may publish) were skipped, so
``s3.get_bucket_policy`` found none and ``sns.get_topic_attributes`` showed the default policy.
AWS: the CloudFormation resource reference of AWS::S3::BucketPolicy (Ref: the bucket name; the policy as
PutBucketPolicy sets it; PolicyDocument updates in place, a new Bucket replaces it) and
AWS::SNS::TopicPolicy (Ref: the policy's id; the policy as SetTopicAttributes ``Policy`` sets it on each
topic; deleting it restores each topic's default policy).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ._model import Resource, register


def _document(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class BucketPolicy(Resource):
    TYPE = "AWS::S3::BucketPolicy"

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        return s3_backends[account_id][get_partition(region)]

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        bucket = properties["Bucket"]
        cls._backend(account_id, region).put_bucket_policy(
            bucket, _document(properties["PolicyDocument"]).encode())
        return cls(bucket)

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        if properties["Bucket"] != self.ref:
            return super().update(name, properties)
        return self.create(self.account_id, self.region_name, name, properties)

    def remove(self) -> None:
        self._backend(self.account_id, self.region_name).delete_bucket_policy(self.ref)


class TopicPolicy(Resource):
    TYPE = "AWS::SNS::TopicPolicy"

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.sns.models import sns_backends

        return sns_backends[account_id][region]

    @classmethod
    def _apply(cls, account_id: str, region: str, properties: dict[str, Any]) -> None:
        backend = cls._backend(account_id, region)
        for topic in properties["Topics"]:
            backend.set_topic_attribute(topic, "policy", _document(properties["PolicyDocument"]))

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        cls._apply(account_id, region, properties)
        return cls(str(uuid.uuid4()))

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        self._restore_defaults([t for t in self.properties["Topics"] if t not in properties["Topics"]])
        self._apply(self.account_id, self.region_name, properties)
        return self

    def _restore_defaults(self, topics: list[str]) -> None:
        backend = self._backend(self.account_id, self.region_name)
        for arn in topics:
            topic = backend.topics.get(arn)
            if topic is not None:
                topic._policy_json = topic._create_default_topic_policy(
                    self.region_name, topic.account_id, topic.name)

    def remove(self) -> None:
        self._restore_defaults(self.properties["Topics"])


class Subscription(Resource):
    """``AWS::SNS::Subscription``, the same gap: Ref is the subscription ARN (Subscribe's answer)."""

    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.sns.models import sns_backends

        return sns_backends[account_id][region]

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        subscription = cls._backend(account_id, region).subscribe(
            properties["TopicArn"], properties["Endpoint"], properties["Protocol"])
        return cls(subscription.arn, {"Arn": subscription.arn})

    def remove(self) -> None:
        self._backend(self.account_id, self.region_name).unsubscribe(self.ref)


def install() -> None:
    register(BucketPolicy, TopicPolicy, Subscription)
