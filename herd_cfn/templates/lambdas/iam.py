"""IAM for the inline Lambda functions, built from the data in herd_cfn.templates.lambdas, so the policy of a
function and the calls its code makes are described in one place."""

from __future__ import annotations

from typing import Any

from awacs import aws as awacs_aws
from awacs.aws import Action, Allow, Condition, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import Sub

# Lambda creates and deletes a VPC function's network interfaces with its role; AWS's managed policy for it
# tracks what Lambda needs (its EC2 actions take "*").
VPC_ACCESS_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def _sub(text: str, variables: dict[str, Any]):
    """``text`` with ``${Name}`` filled in: constants inline, a lone reference as itself, the rest by Fn::Sub.

    Plain strings are written into the text rather than passed as Fn::Sub variables: the same policy in
    fewer template bytes, which is the budget of the stacks that hold these functions.
    """
    for name, value in variables.items():
        if isinstance(value, str):
            text = text.replace("${%s}" % name, value)
    used = {k: v for k, v in variables.items() if "${%s}" % k in text}
    if len(used) == 1 and text == "${%s}" % next(iter(used)):
        return next(iter(used.values()))
    if "${" not in text:
        return text
    return Sub(text, **used)


def code_statements(entries, **variables: Any) -> list[Statement]:
    """One statement per (actions, resource, condition) entry; ``${Name}`` filled from ``variables``."""
    statements = []
    for actions, resource, condition in entries:
        # "*" only where herd_cfn.templates.lambdas records that the action has no resource-level permissions.
        resources = ["*"] if resource == "*" else [
            _sub(r, variables) for r in ((resource,) if isinstance(resource, str) else resource)]
        extra = {}
        if condition:
            extra["Condition"] = Condition([
                getattr(awacs_aws, operator)(key, _sub(value, variables))
                for operator, pairs in condition.items() for key, value in pairs.items()
            ])
        statements.append(Statement(
            Effect=Allow, Action=[Action(*a.split(":", 1)) for a in actions], Resource=resources, **extra,
        ))
    return statements


def lambda_trust() -> PolicyDocument:
    # No aws:SourceAccount condition: Lambda does not document sending it when it assumes an
    # execution role, and a condition the service does not meet breaks the function.
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Principal=Principal("Service", "lambda.amazonaws.com"), Action=[AssumeRole],
    )])
