"""``!Condition Name`` in YAML is the condition reference ``{"Condition": Name}``.

Gap: moto's YAML constructor turns every short-form tag ``!X`` into ``Fn::X``, so ``!Condition
HasAccessLogBucket`` inside ``!And`` became ``{"Fn::Condition": ...}``, which moto's condition parser
does not know: the edge stack's ``CreateAccessLogBucket`` (``!And [!Condition HasAccessLogBucket,
!Equals [!Ref AccessLogBucket, '']]``) came out false, the access-log bucket was never made and the
load balancers logged to a bucket named "". The same template as JSON worked.
AWS: "Condition functions" of the CloudFormation template reference: ``Condition`` (YAML ``!Condition``)
references another condition inside Fn::And, Fn::Or and Fn::Not; it has no ``Fn::`` prefix.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.cloudformation import models, responses, utils

    original = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
        if tag == "!Condition":
            return {"Condition": node.value}
        return original(loader, tag, node)

    # models and responses call add_multi_constructor with their own imported name at every parse.
    for module in (utils, models, responses):
        module.yaml_tag_constructor = yaml_tag_constructor
