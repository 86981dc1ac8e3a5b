"""The CloudFormation resources of one inline function, alike for every function here: its log group
(retained, encrypted with the data stack's key, named as Lambda names it) and the function itself (Python
3.12 on arm64, the packed source as ``index.py``, logging to that group)."""

from __future__ import annotations

from collections.abc import Sequence

from troposphere import GetAtt, Ref, Template, awslambda, logs

from herd_cfn.templates.helpers import RETAIN, logs_key, skip
from herd_cfn.templates.lambdas import packed_source


def add_function(t: Template, logical_id: str, *, name: str, module: str, description: str, role: str,
                 log_group: str, retention: object, timeout: int, variables: dict,
                 skips: Sequence[tuple[str, str]], memory: int = 256,
                 vpc: awslambda.VPCConfig | None = None) -> None:
    """``module`` of herd_cfn.templates.lambdas as function ``name``; ``skips`` are its checkov skips."""
    t.add_resource(logs.LogGroup(log_group, **RETAIN, LogGroupName=f"/aws/lambda/{name}",
                                 RetentionInDays=retention, KmsKeyId=logs_key()))
    t.add_resource(awslambda.Function(
        logical_id, FunctionName=name, Description=description, Metadata=skip(*skips),
        Runtime="python3.12", Handler="index.handler", Architectures=["arm64"],
        Code=awslambda.Code(ZipFile=packed_source(module)),
        Role=GetAtt(role, "Arn"), Timeout=timeout, MemorySize=memory,
        Environment=awslambda.Environment(Variables=variables),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        **({"VpcConfig": vpc} if vpc else {}),
    ))
