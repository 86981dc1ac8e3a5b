"""``herd-cfn bootstrap``: the StackSet roles, once: the administration role in the administrator account and
the execution role in every target account, as plain stacks (change sets, like ``aws cloudformation deploy``).

Deploying into several accounts needs credentials for each: ``--account-profile ACCOUNT=PROFILE`` per
account, or ``--role-name`` (a role the base credentials may assume in every account, e.g.
``OrganizationAccountAccessRole``). ``--print`` prints the ``aws cloudformation deploy`` commands instead,
to run with each account's credentials by hand.
"""

from __future__ import annotations

from pathlib import Path

from herd_cfn import names
from herd_cfn.build import artifacts as built_files
from herd_cfn.config.environments import Environment, Project
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.deploy import Target, aws_cli_command, deploy
from herd_cfn.operations.progress import Progress
from herd_cfn.templates import registry
from herd_cfn.templates.base import StackDefinition


def targets(project: Project, environments: list[Environment]) -> list[tuple[StackDefinition, Target]]:
    """Every bootstrap stack with where it goes, administrator first (the execution roles trust it)."""
    result = []
    settings = project.settings
    for stack in registry.all_stacks():
        if stack.scope == "administrator":
            result.append((stack, Target("administrator", settings.administrator_account_id,
                                         settings.administrator_region, names.stack_name(stack.name),
                                         stack.tags("administrator"))))
    for stack in registry.all_stacks():
        if stack.scope == "account":
            for env in environments:
                result.append((stack, Target(env.name, env.account_id, env.region, names.stack_name(stack.name),
                                             stack.tags(env.name))))
    return result


def load_built(output_dir: Path, stack: StackDefinition, target: Target) -> built_files.BuiltStack:
    return built_files.load(output_dir, stack, built_files.target_for(stack, target.label))


def print_commands(project: Project, environments: list[Environment], output_dir: Path, progress: Progress,
                   template_bucket: str | None = None) -> None:
    for stack, target in targets(project, environments):
        built = load_built(output_dir, stack, target)
        progress.log(f"# {stack.name} in account {target.account_id} ({target.label}); run with credentials "
                     "for that account")
        progress.log(aws_cli_command(target, built, template_bucket))


def bootstrap(ctx: AwsContext, project: Project, environments: list[Environment], output_dir: Path,
              progress: Progress, plan_only: bool = False, template_bucket: str | None = None) -> None:
    pairs = targets(project, environments)
    loaded = [(load_built(output_dir, stack, target), target) for stack, target in pairs]  # all files before any call
    for built, target in loaded:
        deploy(ctx, target, built, progress, plan_only=plan_only, template_bucket=template_bucket)
