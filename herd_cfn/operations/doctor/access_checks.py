"""Checks of AWS access: credentials, each account reached the way rollout and bootstrap reach it, and the
StackSet roles that ``herd-cfn bootstrap`` deploys."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from herd_cfn import names
from herd_cfn.errors import HerdError
from herd_cfn.operations.aws import AwsContext, translate_errors, unless_missing
from herd_cfn.operations.doctor.findings import Finding, missing, ok

CONFIGURE_CREDENTIALS = ("set AWS_PROFILE or pass --profile, run `aws configure` or `aws sso login` "
                         "(or try everything against the emulator with --local)")
BOOTSTRAP = "herd-cfn bootstrap (or run what `herd-cfn bootstrap --print` prints with each account's credentials)"


def guarded(permission: str, account: str, check: Callable[[], Finding]) -> Finding:
    """Run one check; an AWS error becomes a finding that says which permission the check needs."""
    try:
        return check()
    except HerdError as exc:
        return missing(f"could not check: {exc.message}",
                       f"let these credentials call {permission} in account {account}")


def identity(ctx: AwsContext, region: str) -> tuple[Finding, str | None]:
    """Whose credentials these are; ``None`` when there are none (every other AWS check is then skipped)."""
    try:
        with translate_errors("reading the caller identity"):
            try:
                caller = ctx.client(ctx.base_session(region), "sts").get_caller_identity()
            except botocore.exceptions.NoCredentialsError:
                return missing("no AWS credentials found", CONFIGURE_CREDENTIALS), None
    except HerdError as exc:
        return missing(f"credentials not usable: {exc.message}", CONFIGURE_CREDENTIALS), None
    source = f"profile {ctx.profile!r}" if ctx.profile else "the default credential chain"
    return ok(f"credentials from {source}: {caller['Arn']} (account {caller['Account']})"), caller["Account"]


def access_path(ctx: AwsContext, account: str) -> str:
    """How AwsContext.session reaches ``account`` (same order: profile, role, base credentials)."""
    if account in ctx.account_profiles:
        return f"with profile {ctx.account_profiles[account]!r}"
    if ctx.role_name:
        return f"by assuming role {ctx.role_name}"
    return "with the base credentials"


def reach(ctx: AwsContext, account: str, region: str, label: str, base_account: str) -> tuple[Finding, bool]:
    try:
        ctx.session(account, region)
    except HerdError as exc:
        if ctx.role_name and account not in ctx.account_profiles:
            fix = (f"let {base_account} assume {ctx.role_name} in {account} (the role's trust policy), or pass "
                   f"--account-profile {label}=PROFILE")
        else:
            fix = (f"pass --account-profile {label}=PROFILE (a profile for account {account}) or --role-name ROLE "
                   "(a role your credentials may assume in every account, e.g. OrganizationAccountAccessRole)")
        return missing(f"account {account} cannot be reached {access_path(ctx, account)}: {exc.message}", fix), False
    return ok(f"account {account} reached {access_path(ctx, account)}"), True


def _role(ctx: AwsContext, account: str, region: str, role_name: str) -> dict[str, Any] | None:
    iam = ctx.client(ctx.session(account, region), "iam")
    with translate_errors(f"reading role {role_name} in {account}"):
        return unless_missing(lambda: iam.get_role(RoleName=role_name)["Role"], "NoSuchEntity")


def administration_role(ctx: AwsContext, account: str, region: str) -> Finding:
    name = names.ADMINISTRATION_ROLE_NAME
    if _role(ctx, account, region, name) is None:
        return missing(f"StackSet administration role {name} not found in account {account}", BOOTSTRAP)
    return ok(f"StackSet administration role {name}")


def _policy(document: Any) -> dict[str, Any]:
    # IAM returns the trust policy URL-encoded; boto3 decodes it, other clients and emulators may not.
    if isinstance(document, str):
        return json.loads(urllib.parse.unquote(document))
    return document or {}


_ACCOUNT_IN_PRINCIPAL = re.compile(r"^(?:arn:[a-z-]+:iam::)?(\d{12})(?::|$)")


def trusted_accounts(document: Any) -> set[str]:
    """Accounts whose principals an ``Allow sts:AssumeRole`` statement of the trust policy names."""
    accounts = set()
    statements = _policy(document).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        principals = (statement.get("Principal") or {})
        aws = principals.get("AWS", []) if isinstance(principals, dict) else []
        for principal in aws if isinstance(aws, list) else [aws]:
            match = _ACCOUNT_IN_PRINCIPAL.match(str(principal))
            if match:
                accounts.add(match.group(1))
    return accounts


def execution_role(ctx: AwsContext, account: str, region: str, administrator: str, env_name: str) -> Finding:
    name = names.EXECUTION_ROLE_NAME
    role = _role(ctx, account, region, name)
    if role is None:
        return missing(f"StackSet execution role {name} not found in account {account}",
                       BOOTSTRAP.replace("bootstrap (", f"bootstrap --env {env_name} (", 1))
    trusted = trusted_accounts(role.get("AssumeRolePolicyDocument"))
    if administrator not in trusted:
        shown = ", ".join(sorted(trusted)) or "no account"
        return missing(f"StackSet execution role {name} trusts {shown}, not the administrator account "
                       f"{administrator}",
                       f"herd-cfn bootstrap --env {env_name} (deploys it with AdministratorAccountId={administrator})")
    if not _boundary_exists(ctx, account, region, role["Arn"].split(":")[1]):
        # An execution stack from before the boundary: every role of the stacks names it, so no rollout
        # (and no stack deployed by hand) can create a role until the bootstrap stack is deployed again.
        return missing(f"permissions boundary {names.PERMISSIONS_BOUNDARY_NAME} not found in account {account} "
                       "(every role of the stacks names it)",
                       f"herd-cfn bootstrap --env {env_name} (the execution stack creates it)")
    return ok(f"StackSet execution role {name}, trusting the administrator account {administrator}, and the "
              f"permissions boundary {names.PERMISSIONS_BOUNDARY_NAME}")


def _boundary_exists(ctx: AwsContext, account: str, region: str, partition: str) -> bool:
    iam = ctx.client(ctx.session(account, region), "iam")
    arn = f"arn:{partition}:iam::{account}:policy/{names.PERMISSIONS_BOUNDARY_NAME}"
    with translate_errors(f"reading policy {names.PERMISSIONS_BOUNDARY_NAME} in {account}"):
        return unless_missing(lambda: iam.get_policy(PolicyArn=arn)["Policy"], "NoSuchEntity") is not None
