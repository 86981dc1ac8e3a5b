"""``herd-cfn deploy``: one stack to one account through a change set, without StackSets."""

from __future__ import annotations

import argparse

from herd_cfn import names
from herd_cfn.build import artifacts
from herd_cfn.cli.options import add_deploying, aws_access, refuse_with_print, with_progress
from herd_cfn.config.environments import Project
from herd_cfn.errors import InputError
from herd_cfn.operations.deploy import Target, aws_cli_command, deploy
from herd_cfn.operations.progress import Progress
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project

NAME = "deploy"
HELP = "deploy one stack to one account through a change set (no StackSets)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_deploying(p)
    p.add_argument("--env", help="environment (required unless --print-aws-cli)")
    p.add_argument("--stack", action="append", metavar="NAME", help="the stack (with --print-aws-cli: repeatable)")
    p.add_argument("--plan", action="store_true", help="show the change set, then delete it; deploy nothing")
    p.add_argument("--print-aws-cli", action="store_true",
                   help="print the equivalent `aws cloudformation deploy` commands (default: every stack and env)")
    p.set_defaults(handler=run)


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    if args.print_aws_cli:
        refuse_with_print(args, "--print-aws-cli")
    project = load_project(args.parameters_dir)
    if args.print_aws_cli:
        return _print_aws_cli(args, project, progress)
    if not args.env or args.env == "all":
        raise InputError("command line", "--env", "deploy needs one environment, e.g. --env dev")
    if not args.stack or len(args.stack) != 1:
        raise InputError("command line", "--stack", "deploy needs exactly one --stack NAME")
    stack = registry.get(args.stack[0])
    if stack.scope != "stackset":
        raise InputError("--stack", None, f"{stack.name} is deployed by `herd-cfn bootstrap`")
    env = project.environment(args.env)
    artifacts.ensure_fresh(project, args.output_dir)
    built = artifacts.load(args.output_dir, stack, env.name)
    target = Target(env.name, env.account_id, env.region, names.stack_name(stack.name), stack.tags(env.name))
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        deploy(ctx, target, built, progress, plan_only=args.plan, template_bucket=args.template_bucket)
    return 0


def _print_aws_cli(args: argparse.Namespace, project: Project, progress: Progress) -> int:
    stacks = [s for s in registry.select(args.stack) if s.scope == "stackset"]
    artifacts.ensure_fresh(project, args.output_dir)
    for env in project.select(args.env):
        for stack in stacks:
            built = artifacts.load(args.output_dir, stack, env.name)
            target = Target(env.name, env.account_id, env.region, names.stack_name(stack.name), stack.tags(env.name))
            progress.log(f"# {stack.name} in {env.name} (account {env.account_id})")
            if stack.name == names.EDGE:
                progress.log(f"# CodeDeploy moves the manager's listeners: set {names.Edge.LIVE_TARGET_GROUP} and "
                             f"{names.Edge.TEST_TARGET_GROUP} to the group each forwards to now (weight 100 in "
                             "`aws elbv2 describe-listeners`), or `herd-cfn deploy` does it for you")
            if stack.name == names.SERVICE:
                progress.log(f"# Once the pipeline has deployed Keycloak: set {names.Service.KEYCLOAK_IMAGE} to the "
                             "image it runs (`aws ecs describe-task-definition` of the keycloak service's revision), "
                             "or `herd-cfn deploy` does it for you")
            progress.log(aws_cli_command(target, built, args.template_bucket))
    return 0
