"""The permissions boundary: the most any role of the StackSet stacks may ever do.

A boundary grants nothing. A role may do what both its own policies and its boundary allow, so a role
the StackSet execution role creates (it may create roles only with this boundary) can never do more
than what is written here, whatever policy it is given. Shaped after AWS's delegation example in
"Permissions boundaries for IAM entities"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):

* Allow what the roles use and nothing else: every action their policies allow (read from the
  templates, see workloads.py) and what the AWS managed policies they attach need, on any resource,
  since each role's own policy names its resources. IAM is the exception: only the IAM actions the
  roles use, and only on this project's roles.
* Deny the ways out, even if the allow list ever grew: editing or deleting the boundary policy,
  removing a boundary, creating users, roles, access keys or login profiles, and writing any policy.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from awacs.aws import Action, Allow, Deny, PolicyDocument, Statement
from troposphere import Sub, iam

from herd_cfn import names
from herd_cfn.templates.boundary import BOUNDARY_ARN
from herd_cfn.templates.helpers import skip
from herd_cfn.templates.stacks.bootstrap.workloads import Workloads

# Roles of StackSet instances and of stacks deployed by hand (herd-<stack>-<logical id>-<suffix>).
PROJECT_ROLE_NAMES = (f"{names.STACKSET_INSTANCE_PREFIX}*", f"{names.PROJECT}-*")

# What the boundary must allow for each AWS managed policy a template attaches, as herd uses it.
_LAMBDA_IN_A_VPC = (
    # AWSLambdaVPCAccessExecutionRole v3, as published in the AWS managed policy reference
    # (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
)
_BACKUP_OF_EFS = (
    # AWS Backup's two service-role policies cover every resource type AWS Backup supports and change
    # often (ForRestores is at v35); herd backs up and restores one encrypted EFS file system. The
    # boundary lets through AWS Backup, EFS and the key use an encrypted backup needs, whole where AWS
    # changes the details: the execution role manages these services itself, so a role it creates
    # gains nothing here that the execution role does not already have.
    "backup:*", "backup-storage:*", "elasticfilesystem:*", "tag:GetResources", "kms:CreateGrant",
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:RetireGrant",
)
MANAGED_POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "service-role/AWSLambdaVPCAccessExecutionRole": _LAMBDA_IN_A_VPC,
    "service-role/AWSBackupServiceRolePolicyForBackup": _BACKUP_OF_EFS,
    "service-role/AWSBackupServiceRolePolicyForRestores": _BACKUP_OF_EFS,
}

# IAM writes no role of the stacks makes: each would let a role give itself or others more.
_NO_IDENTITY_WRITES = (
    "CreateUser", "CreateRole", "CreateAccessKey", "UpdateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
    "CreateServiceSpecificCredential", "ResetServiceSpecificCredential", "AddUserToGroup",
    "AttachUserPolicy", "PutUserPolicy", "AttachGroupPolicy", "PutGroupPolicy", "AttachRolePolicy", "PutRolePolicy",
    "PutRolePermissionsBoundary", "PutUserPermissionsBoundary", "UpdateAssumeRolePolicy",
    "CreatePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion",
)

_SKIPS = skip(
    ("CKV_AWS_111", "A permissions boundary grants nothing: it caps each role at these actions, and each role's "
                    "own policy names the resources it may write, so Resource '*' here widens nothing."),
    ("CKV_AWS_108", "Same: the roles that read secrets and objects (task execution role, pipeline, hooks) name "
                    "them in their own policies; the boundary only lets the action through."),
    ("CKV_AWS_109", "Same: the resource-policy actions here (backup vault access policy, EFS file system policy, "
                    "KMS grants) come with AWS Backup's managed policies, which only the backup role attaches."),
)


def managed_policy_actions(workloads: Workloads) -> list[str]:
    unknown = [name for name in workloads.managed_policies if name not in MANAGED_POLICY_ACTIONS]
    if unknown:
        raise ValueError(f"the templates attach AWS managed policies {unknown}: list what the permissions boundary "
                         "must allow for them in MANAGED_POLICY_ACTIONS (bootstrap/boundary_policy.py)")
    return [action for name in workloads.managed_policies for action in MANAGED_POLICY_ACTIONS[name]]


def project_roles() -> list[Sub]:
    return [Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}") for name in PROJECT_ROLE_NAMES]


def _without_covered(actions: set[str]) -> set[str]:
    """``actions`` without those a wildcard among them already covers (IAM matches actions case-blind)."""
    patterns = [a.lower() for a in actions if "*" in a]
    return {a for a in actions if "*" in a or not any(fnmatchcase(a.lower(), p) for p in patterns)}


def document(workloads: Workloads) -> PolicyDocument:
    allowed = _without_covered(set(workloads.actions) | set(managed_policy_actions(workloads)))
    iam_actions = sorted(a for a in allowed if a.startswith("iam:"))
    others = sorted(allowed - set(iam_actions))
    boundary = Sub(BOUNDARY_ARN)
    statements = [
        # Resource "*": a boundary caps actions; each role's own policy names the resources.
        Statement(Sid="WhatTheWorkloadsUse", Effect=Allow, Action=[Action(*a.split(":", 1)) for a in others],
                  Resource=["*"]),
        Statement(Sid="NoBoundaryPolicyEdit", Effect=Deny, Resource=[boundary], Action=[
            Action("iam", a) for a in ("CreatePolicyVersion", "DeletePolicy", "DeletePolicyVersion",
                                       "SetDefaultPolicyVersion")]),
        # Resource "*": no role of any name may lose its boundary.
        Statement(Sid="NoBoundaryRemoval", Effect=Deny, Resource=["*"], Action=[
            Action("iam", "DeleteRolePermissionsBoundary"), Action("iam", "DeleteUserPermissionsBoundary")]),
        # Resource "*": no identity, key or policy anywhere in the account.
        Statement(Sid="NoIdentityOrPolicyWrites", Effect=Deny, Resource=["*"],
                  Action=[Action("iam", a) for a in _NO_IDENTITY_WRITES]),
    ]
    if iam_actions:
        statements.insert(1, Statement(Sid="IamOnProjectRolesOnly", Effect=Allow, Resource=project_roles(),
                                       Action=[Action(*a.split(":", 1)) for a in iam_actions]))
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def boundary_policy(workloads: Workloads) -> iam.ManagedPolicy:
    return iam.ManagedPolicy(
        names.Bootstrap.PERMISSIONS_BOUNDARY,
        ManagedPolicyName=names.PERMISSIONS_BOUNDARY_NAME,
        Description="Permissions boundary of every herd-cfn StackSet role: at most what the stacks' roles use, "
                    "never IAM writes",
        PolicyDocument=document(workloads),
        Metadata=_SKIPS,
    )
