"""``herd-cfn doctor``: what a deployment needs, checked one line at a time, each missing thing with its fix.

Read-only. Sections: local tools and files, AWS credentials, the administrator account, then one per
environment. A check that cannot run because an earlier one failed (no credentials, an account that
cannot be reached) is skipped with one note instead of a cascade of the same error.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

from herd_cfn import names
from herd_cfn.config.environments import Environment, Project
from herd_cfn.errors import HerdError
from herd_cfn.operations import status
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.doctor import access_checks, deployment_checks, local_checks
from herd_cfn.operations.doctor.access_checks import guarded
from herd_cfn.operations.doctor.findings import Section, exit_code, fancy, render
from herd_cfn.templates import registry

OpenAws = Callable[[Project], AbstractContextManager[AwsContext]]


def local_section(parameters_dir: Path, output_dir: Path) -> tuple[Section, Project | None]:
    section = Section("local")
    section.add(local_checks.python_version())
    section.add(local_checks.aws_cli())
    section.add(local_checks.session_manager_plugin())
    finding, project = local_checks.parameters(parameters_dir)
    section.add(finding)
    if project is not None:
        section.findings.extend(local_checks.output(project, output_dir))
    return section, project


def _instances(ctx: AwsContext, project: Project, environments: list[Environment]
               ) -> list[status.InstanceStatus] | None:
    """The StackSet instances (to find the pipeline stack), or None when the administrator cannot list them."""
    if names.PIPELINE not in registry.names():
        return None
    try:
        return status.instances(ctx, project, environments)
    except HerdError:
        return None


def aws_sections(ctx: AwsContext, project: Project, environments: list[Environment]) -> list[Section]:
    settings = project.settings
    admin, admin_region = settings.administrator_account_id, settings.administrator_region
    credentials = Section("AWS credentials")
    finding, base_account = access_checks.identity(ctx, admin_region)
    credentials.add(finding)
    if base_account is None:
        credentials.note = "(AWS checks skipped: they need credentials)"
        return [credentials]

    administrator = Section(f"administrator (account {admin}, {admin_region})")
    finding, reached = access_checks.reach(ctx, admin, admin_region, "administrator", base_account)
    administrator.add(finding)
    if reached:
        administrator.add(guarded("iam:GetRole", admin,
                                  lambda: access_checks.administration_role(ctx, admin, admin_region)))
    sections = [credentials, administrator]
    instances = _instances(ctx, project, environments) if reached else None
    for env in environments:
        sections.append(environment_section(ctx, project, env, base_account, instances))
    return sections


def environment_section(ctx: AwsContext, project: Project, env: Environment, base_account: str,
                        instances: list[status.InstanceStatus] | None) -> Section:
    account, region = env.account_id, env.region
    section = Section(f"{env.name} (account {account}, {region}, {env.domain})")
    finding, reached = access_checks.reach(ctx, account, region, env.name, base_account)
    section.add(finding)
    if not reached:
        section.note = f"(the other checks of {env.name} need access to account {account})"
        return section
    admin = project.settings.administrator_account_id
    section.add(guarded("iam:GetRole and iam:GetPolicy", account,
                        lambda: access_checks.execution_role(ctx, account, region, admin, env.name)))
    if names.PIPELINE in registry.names():
        section.add(guarded("cloudformation:DescribeStacks and codeconnections:GetConnection", account,
                            lambda: deployment_checks.connection(ctx, env, instances)))
    configured = deployment_checks.dns_setting(env)
    if configured:
        permission = "route53:GetHostedZone" if configured[0] == "hosted_zone_id" else "acm:DescribeCertificate"
        section.add(guarded(permission, account, lambda: deployment_checks.dns(ctx, env, configured)))
    if names.DATA in registry.names():
        section.add(guarded("ecr:DescribeRepositories and ecr:ListImages", account,
                            lambda: deployment_checks.image(ctx, env)))
        section.add(guarded("secretsmanager:DescribeSecret", account,
                            lambda: deployment_checks.docker_hub_login(ctx, env)))
    return section


def diagnose(parameters_dir: Path, output_dir: Path, env_name: str | None, open_aws: OpenAws) -> list[Section]:
    local, project = local_section(parameters_dir, output_dir)
    if project is None:
        local.note = "(AWS checks skipped: they need valid parameters)"
        return [local]
    environments = project.select(env_name)
    with open_aws(project) as ctx:
        return [local, *aws_sections(ctx, project, environments)]


def run(parameters_dir: Path, output_dir: Path, env_name: str | None, open_aws: OpenAws, stream: TextIO) -> int:
    sections = diagnose(parameters_dir, output_dir, env_name, open_aws)
    for line in render(sections, fancy(stream)):
        print(line, file=stream)
    return exit_code(sections)
