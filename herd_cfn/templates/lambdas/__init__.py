"""Lambda functions deployed inline in the templates, and what the stacks need to deploy them.

Each module here is self-contained (standard library + the boto3 of the Lambda runtime) because
CloudFormation ships ``Code.ZipFile`` as a single file, ``index.py``: deploy with Handler
``index.handler`` and Runtime ``python3.12``. :func:`inline_source` gives that file's text.

Size: CloudFormation once limited ZipFile to 4096 characters; today the limit is the 4 MB zip it
builds (cfn-lint's schema and troposphere's check say the same). What binds is the template: every
template must stay under 51,200 bytes. So the deployable source is minified (docstrings, comments and
annotations dropped, one-space indents) and held to :data:`INLINE_SOURCE_BUDGET`, our own budget.
The templates hold it packed (:func:`packed_source`: zlib and base85 behind a two-line loader, about half
the size), since the service and pipeline templates run close to that limit.

IAM, as data for the stacks: each entry is (actions, resource, condition). ``resource`` (or a tuple of them) is an
``Fn::Sub`` string whose ``${Name}`` variables the stack fills in (besides the AWS:: pseudo
parameters); "*" is written only where the action has no resource-level permissions.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import re
import zlib
from pathlib import Path

# Characters per function; keeps the functions well inside one template (4864 since the reconcile
# function follows the production listener, issue 12).
INLINE_SOURCE_BUDGET = 4864
MODULES = ("mqtt_reconcile", "before_allow_traffic", "deploy_hooks")

_ECS = "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
# PutLifecycleEventHookExecutionStatus has no resource-level permissions (service authorization
# reference, checked by tests/test_iam_policies.py): a deployment-group ARN would never match, so the
# hook could not report and every deployment would wait out the hook's hour and fail.
_HOOK_STATUS = (("codedeploy:PutLifecycleEventHookExecutionStatus",), "*", None)

MQTT_RECONCILE_IAM = (
    (("ecs:DescribeServices",), _ECS + ":service/${ClusterName}/${ServiceName}", None),
    # ListTasks is authorised on container instances only, which Fargate has none of: "*" narrowed
    # to the cluster by the ecs:cluster condition key.
    (("ecs:ListTasks",), "*", {"ArnEquals": {"ecs:cluster": _ECS + ":cluster/${ClusterName}"}}),
    (("ecs:DescribeTasks",), _ECS + ":task/${ClusterName}/*", None),
    # Describe* of elasticloadbalancing has no resource-level permissions.
    (("elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeListeners"), "*", None),
    (("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"), "${TargetGroupArn}", None),
    _HOOK_STATUS,
)

BEFORE_ALLOW_TRAFFIC_IAM = (
    # Describe* of EC2 has no resource-level permissions.
    (("ec2:DescribeNetworkInterfaces",), "*", None),
    _HOOK_STATUS,
    # Running in the VPC also needs the ENI permissions of the managed policy
    # arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole.
)

_PASS_TO_ECS = {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
DEPLOY_HOOKS_IAM = (
    # RunTask is authorised on the task definition; the ecs:cluster key keeps it to our cluster.
    (("ecs:RunTask",), _ECS + ":task-definition/${DumpFamily}:*",
     {"ArnEquals": {"ecs:cluster": _ECS + ":cluster/${ClusterName}"}}),
    (("ecs:DescribeTasks",), _ECS + ":task/${ClusterName}/*", None),
    (("ecs:DescribeServices",), _ECS + ":service/${ClusterName}/${ServiceName}", None),
    (("iam:PassRole",), ("${ExecutionRoleArn}", "${DumpRoleArn}"), _PASS_TO_ECS),
    # Describe* of EC2 has no resource-level permissions (the ALB's private IPs).
    (("ec2:DescribeNetworkInterfaces",), "*", None),
    (("secretsmanager:GetSecretValue",), "${AdminSecretArn}", None),
    (("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), "arn:${AWS::Partition}:s3:::${RecordBucket}/deploy-hooks/*",
     None),
    # Without ListBucket, S3 answers a missing record with AccessDenied instead of NoSuchKey.
    (("s3:ListBucket",), "arn:${AWS::Partition}:s3:::${RecordBucket}", None),
    # The MQTT reconcile function; and itself: a dump that outlasts one invocation continues in the next.
    (("lambda:InvokeFunction",), ("${ReconcileFunctionArn}",
                                  "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Self}"),
     None),
    _HOOK_STATUS,
)


class _Minifier(ast.NodeTransformer):
    """Drops what Python never executes: docstrings, other bare string statements, annotations."""

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        kept = [
            s for s in body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
        ]
        return kept or [ast.Pass()]

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(node, field, None), list) and getattr(node, field):
                setattr(node, field, self._body(getattr(node, field)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None:
            return ast.Pass()
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


def minify(source: str) -> str:
    """Source with the same behaviour, fewer characters; checked by comparing syntax trees."""
    tree = ast.fix_missing_locations(_Minifier().visit(ast.parse(source)))
    unparsed = ast.unparse(tree)
    # ast.unparse writes every string on one line, so leading spaces are only ever indentation.
    compact = re.sub(r"^((?:    )+)", lambda m: " " * (len(m.group(1)) // 4), unparsed, flags=re.MULTILINE)
    if ast.dump(ast.parse(compact)) != ast.dump(ast.parse(unparsed)):
        raise RuntimeError("minified source does not parse to the same program")
    return compact + "\n"


def inline_source(module_name: str, budget: int = INLINE_SOURCE_BUDGET) -> str:
    """The deployable ``index.py`` of ``herd_cfn/templates/lambdas/<module_name>.py`` for Code.ZipFile."""
    if module_name not in MODULES:
        raise ValueError(f"unknown Lambda module {module_name!r}; known: {', '.join(MODULES)}")
    spec = importlib.util.find_spec(f"{__name__}.{module_name}")
    source = minify(Path(spec.origin).read_text(encoding="utf-8"))
    if len(source) > budget:
        raise ValueError(f"inline source of {module_name} is {len(source)} characters, over the budget of {budget}")
    return source


PACKED_SOURCE_LIMIT = 12288  # characters of minified source a packed function may have


def packed_source(module_name: str, budget: int = INLINE_SOURCE_BUDGET) -> str:
    """``index.py`` that runs the minified source of a function too long to inline as text, stored compressed
    (zlib, base85: about 45% of the text). The budget applies to what lands in the template.

    The cost: the console shows one opaque line. The readable source is this repository's
    ``herd_cfn/templates/lambdas/<module_name>.py`` at the deployed commit; the template's text decodes with
    ``zlib.decompress(base64.b85decode(...))``, and the tests run exactly that text.
    """
    source = inline_source(module_name, budget=PACKED_SOURCE_LIMIT)
    packed = base64.b85encode(zlib.compress(source.encode(), 9)).decode()
    loader = f"import base64,zlib\nexec(zlib.decompress(base64.b85decode('{packed}')))\n"
    if len(loader) > budget:
        raise ValueError(f"packed source of {module_name} is {len(loader)} characters, over the budget of {budget}")
    return loader
