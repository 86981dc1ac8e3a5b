"""The StackSet bootstrap stacks (self-managed permissions), each deployed once by hand.

* administration role, in the administrator account: CloudFormation assumes it to reach the targets;
  it may assume only the execution role, and only in the target accounts given as a parameter.
* execution role, in every target account: trusts only the administration role of the administrator
  account, and may do only what the StackSet stacks need (execution_policy.py). With it, in the same
  stack, the permissions boundary every role of those stacks carries (boundary_policy.py): the
  execution role may create or change a role only with that boundary, so it cannot make a role, or
  itself through one, into more than the boundary allows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import GetAtt, Output, Ref, Sub, Template, iam

from herd_cfn import names
from herd_cfn.templates.base import Extension, Input, StackDefinition
from herd_cfn.templates.helpers import skip
from herd_cfn.templates.stacks.bootstrap import boundary_policy, execution_policy
from herd_cfn.templates.stacks.bootstrap.workloads import Workloads

if TYPE_CHECKING:
    from herd_cfn.config.environments import Project

B = names.Bootstrap

_EXECUTION_ROLE_SKIPS = skip(
    ("CKV_AWS_111", "CloudFormation must create, update and delete the StackSet stacks' resources, and most of them "
                    "get names CloudFormation generates (VPCs, load balancers, keys, clusters): their services are "
                    "allowed on Resource '*'. Where herd fixes names (secrets, functions, repositories, log "
                    "groups, buckets, roles) the role is held to them."),
    ("CKV_AWS_109", "Same: creating those resources includes their resource policies (kms:PutKeyPolicy for the "
                    "keys, sns:SetTopicAttributes for the topic policies, logs:PutResourcePolicy for WAF's log "
                    "delivery, which has no resource-level permissions). IAM itself is bound: role writes require "
                    "the permissions boundary, PassRole names the services."),
)


def build_administration(t: Template) -> None:
    role = t.add_resource(iam.Role(
        B.ADMINISTRATION_ROLE,
        RoleName=names.ADMINISTRATION_ROLE_NAME,
        Description="CloudFormation StackSets administration role for herd-cfn (self-managed permissions)",
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "cloudformation.amazonaws.com"), Action=[AssumeRole],
        )]),
        Policies=[iam.Policy(PolicyName="assume-execution-role-in-targets", PolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[Statement(
                Effect=Allow, Action=[AssumeRole],
                Resource=[Sub(f"arn:${{AWS::Partition}}:iam::*:role/{names.EXECUTION_ROLE_NAME}")],
                # Only the execution role of the listed target accounts, not of any account.
                Condition=Condition([StringEquals("aws:ResourceAccount", Ref(B.TARGET_ACCOUNT_IDS))]),
            )],
        ))],
    ))
    t.add_output(Output("AdministrationRoleArn", Value=GetAtt(role, "Arn"),
                        Description="Role CloudFormation assumes to run the StackSets"))


# The StackSet stacks whose roles the boundary and the execution role follow. The registry lists this
# module, so it hands them over itself (registry.py calls follow); importing it here would be a cycle.
_FOLLOWED: list[Callable[[], Sequence[StackDefinition]]] = []


def follow(stacksets: Callable[[], Sequence[StackDefinition]]) -> None:
    _FOLLOWED[:] = [stacksets]


def _stackset_templates(project: Project | None = None) -> list[tuple[str, dict]]:
    if not _FOLLOWED:
        raise RuntimeError("the bootstrap stacks are built through herd_cfn.templates.registry, which names the "
                           "StackSet stacks whose roles they follow")
    return [(s.name, (s.for_project(project) if project else s).template_dict()) for s in _FOLLOWED[0]()]


def build_execution(t: Template) -> None:
    workloads = Workloads.of(_stackset_templates())
    boundary = t.add_resource(boundary_policy.boundary_policy(workloads))
    admin_role_arn = Sub(
        "arn:${AWS::Partition}:iam::${%s}:role/%s" % (B.ADMINISTRATOR_ACCOUNT_ID, names.ADMINISTRATION_ROLE_NAME)
    )
    role = t.add_resource(iam.Role(
        B.EXECUTION_ROLE,
        RoleName=names.EXECUTION_ROLE_NAME,
        Description="CloudFormation StackSets execution role for herd-cfn; trusts only the administrator",
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow,
            Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${%s}:root" % B.ADMINISTRATOR_ACCOUNT_ID)),
            Action=[AssumeRole],
            # Only the administration role of that account, not every principal in it.
            Condition=Condition([ArnEquals("aws:PrincipalArn", admin_role_arn)]),
        )]),
        Policies=[execution_policy.policy(workloads, Ref(boundary))],
        Metadata=_EXECUTION_ROLE_SKIPS,
    ))
    t.add_output(Output("ExecutionRoleArn", Value=GetAtt(role, "Arn"),
                        Description="Role the StackSet administrator assumes in this account"))
    t.add_output(Output(B.OUT_PERMISSIONS_BOUNDARY_ARN, Value=Ref(boundary),
                        Description="Permissions boundary every role of the StackSet stacks carries"))


def for_the_project(project: Project) -> Extension | None:
    """The boundary and the execution role as the project's own templates need them: a project's plugin
    settings may give its roles actions the templates without them do not have (ssm:GetParameters)."""
    workloads = Workloads.of(_stackset_templates(project))
    if workloads == Workloads.of(_stackset_templates()):
        return None

    def build(t: Template) -> None:
        t.resources[B.PERMISSIONS_BOUNDARY].PolicyDocument = boundary_policy.document(workloads)
        t.resources[B.EXECUTION_ROLE].Policies = [execution_policy.policy(workloads, Ref(B.PERMISSIONS_BOUNDARY))]

    key = repr((sorted(workloads.actions), workloads.managed_policies, workloads.services))
    return Extension(key, (), build)


ADMINISTRATION = StackDefinition(
    name=names.STACKSET_ADMINISTRATION,
    description="StackSet administration role (administrator account, deployed once by hand)",
    build=build_administration,
    inputs=(
        Input(B.TARGET_ACCOUNT_IDS, "Account ids the StackSets deploy to (the environments' accounts)",
              lambda project: [env.account_id for env in project.environments.values()],
              type="CommaDelimitedList"),
    ),
    scope="administrator",
)

EXECUTION = StackDefinition(
    name=names.STACKSET_EXECUTION,
    description="StackSet execution role (every target account, deployed once by hand)",
    build=build_execution,
    inputs=(
        Input(B.ADMINISTRATOR_ACCOUNT_ID, "Account id of the StackSet administrator (the only trusted account)",
              lambda env: env.project.administrator_account_id,
              allowed_pattern=r"^\d{12}$", constraint="a 12-digit AWS account id"),
    ),
    scope="account",
    extend=for_the_project,
)

STACKS = (ADMINISTRATION, EXECUTION)
