"""The AWS commands of ``herd-cfn``: bootstrap, rollout, deploy, status, doctor, restore.

Arguments here, logic in their modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from herd_cfn import names
from herd_cfn.build import artifacts as built
from herd_cfn.cli import add_common
from herd_cfn.config.environments import Environment, Project
from herd_cfn.errors import InputError
from herd_cfn.operations.aws import AwsContext, Polling, translate_errors
from herd_cfn.operations.progress import Progress, for_stream
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bootstrap", help="deploy the StackSet administration and execution roles (once)")
    _add_aws(p)
    p.add_argument("--env", help="only this environment's execution role (default: all)")
    p.add_argument("--print", action="store_true", dest="print_only",
                   help="print the `aws cloudformation deploy` commands instead of deploying")
    p.add_argument("--plan", action="store_true", help="show the change sets, deploy nothing")
    p.set_defaults(handler=run_bootstrap)

    p = sub.add_parser("rollout", help="create or update every StackSet and its instances, dev before prod")
    _add_aws(p)
    p.add_argument("--env", help="dev, prod… or all (default: all, in project order)")
    p.add_argument("--stack", action="append", metavar="NAME", help="only this stack (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="show what would change; read-only calls only")
    p.set_defaults(handler=run_rollout)

    p = sub.add_parser("deploy", help="deploy one stack to one account through a change set (no StackSets)")
    _add_aws(p)
    p.add_argument("--env", help="environment (required unless --print-aws-cli)")
    p.add_argument("--stack", action="append", metavar="NAME", help="the stack (with --print-aws-cli: repeatable)")
    p.add_argument("--plan", action="store_true", help="show the change set, then delete it; deploy nothing")
    p.add_argument("--print-aws-cli", action="store_true",
                   help="print the equivalent `aws cloudformation deploy` commands (default: every stack and env)")
    p.set_defaults(handler=run_deploy)

    p = sub.add_parser("status", help="stack instances, drift and the GitHub connection per account")
    _add_aws(p)
    p.add_argument("--env", help="dev, prod… or all (default: all)")
    p.set_defaults(handler=run_status)

    p = sub.add_parser("doctor", help="check what a deployment needs; each missing thing with its fix (read-only)")
    _add_aws(p)
    p.add_argument("--env", help="dev, prod… or all (default: all)")
    p.set_defaults(handler=run_doctor)

    p = sub.add_parser("restore", help="restore the database and /storage from an AWS Backup recovery point")
    _add_aws(p)
    p.add_argument("--env", required=True, help="the environment to restore (e.g. dev)")
    p.add_argument("--recovery-point", required=True, metavar="ARN",
                   help="recovery point ARN (aws backup list-recovery-points-by-backup-vault "
                        f"--backup-vault-name {names.Data.BACKUP_VAULT_NAME})")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)")
    p.add_argument("--plan", action="store_true", help="print the steps; change nothing")
    p.set_defaults(handler=run_restore)


def _add_aws(p: argparse.ArgumentParser) -> None:
    add_common(p)
    g = p.add_argument_group("AWS access")
    g.add_argument("--local", action="store_true",
                   help="run against an emulator (moto on 127.0.0.1) with the project's accounts simulated")
    g.add_argument("--endpoint-url", help="send every AWS call to this URL (e.g. a moto server)")
    g.add_argument("--profile", help="base AWS profile (default: the standard credential chain)")
    g.add_argument("--account-profile", action="append", default=[], metavar="ACCOUNT_OR_ENV=PROFILE",
                   help="profile for one account (account id, environment name or 'administrator'); repeatable")
    g.add_argument("--role-name", help="assume this role in each account from the base credentials "
                                       "(e.g. OrganizationAccountAccessRole)")
    g.add_argument("--template-bucket", help="S3 bucket for templates over 51,200 bytes")
    g.add_argument("--poll-interval", type=float, default=5.0, help="first poll interval in seconds (default 5)")
    g.add_argument("--poll-max", type=float, default=30.0, help="longest poll interval in seconds (default 30)")
    g.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after this many seconds")


def _account_profiles(args: argparse.Namespace, project: Project) -> dict[str, str]:
    result = {}
    for item in args.account_profile:
        key, sep, profile = item.partition("=")
        if not sep or not profile:
            raise InputError("--account-profile", item, "expected ACCOUNT_OR_ENV=PROFILE")
        if key == "administrator":
            key = project.settings.administrator_account_id
        elif not key.isdigit():
            key = project.environment(key).account_id
        result[key] = profile
    return result


@contextmanager
def _aws(args: argparse.Namespace, project: Project, progress: Progress, bootstrap: bool = True,
         check_credentials: bool = True) -> Iterator[AwsContext]:
    """The AWS access of every command. ``check_credentials=False`` skips the first GetCallerIdentity for
    callers that report missing credentials themselves (``doctor``)."""
    if args.local:
        if args.endpoint_url:
            raise InputError("command line", "--local", "--local starts its own endpoint; drop --endpoint-url")
        from herd_cfn.operations.local import emulator

        with emulator(project, args.output_dir, progress, bootstrap=bootstrap) as ctx:
            yield ctx
        return
    polling = Polling(initial=args.poll_interval, maximum=max(args.poll_max, args.poll_interval),
                      timeout=args.timeout)
    ctx = AwsContext(endpoint_url=args.endpoint_url, profile=args.profile, role_name=args.role_name,
                     account_profiles=_account_profiles(args, project), polling=polling)
    if not check_credentials:
        yield ctx
        return
    with translate_errors("checking credentials"):
        # One cheap read first: missing credentials or an unreachable endpoint end here, before any change.
        ctx.client(ctx.base_session(project.settings.administrator_region), "sts").get_caller_identity()
    yield ctx


def _prepare(args: argparse.Namespace) -> tuple[Project, list[Environment]]:
    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    built.ensure_fresh(project, args.output_dir)
    return project, environments


def _with_progress(run: Callable[[argparse.Namespace, Progress], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        progress = for_stream(sys.stdout)
        try:
            return run(args, progress)
        finally:
            progress.close()
    return handler


@_with_progress
def run_rollout(args: argparse.Namespace, progress: Progress) -> int:
    from herd_cfn.operations.rollout import Rollout, select_stacks

    stacks = select_stacks(args.stack)
    if args.local and not args.stack:
        from herd_cfn.operations.local import EMULATOR_STACKS

        skipped = [s.name for s in stacks if s.name not in EMULATOR_STACKS]
        stacks = [s for s in stacks if s.name in EMULATOR_STACKS]
        if skipped:
            progress.log(f"emulator: rolling out {', '.join(s.name for s in stacks)}; moto cannot create "
                         f"{', '.join(skipped)} (pass --stack NAME to try one anyway)")
    project, environments = _prepare(args)
    for env in environments:  # every file read before the first call
        for stack in stacks:
            built.load(args.output_dir, stack, env.name)
    with _aws(args, project, progress) as ctx:
        result = Rollout(ctx, project, args.output_dir, progress, args.template_bucket).run(
            environments, stacks, dry_run=args.dry_run)
    changed = len(result.changed)
    if args.dry_run:
        progress.log(f"dry run: {changed} of {len(result.plans)} stack instance(s) would change; nothing was changed")
    else:
        progress.log(f"rollout complete: {len(result.operations)} operation(s), {len(result.plans) - changed} "
                     f"stack instance(s) unchanged")
    return 0


@_with_progress
def run_bootstrap(args: argparse.Namespace, progress: Progress) -> int:
    from herd_cfn.operations import bootstrap

    project, environments = _prepare(args)
    if args.print_only:
        bootstrap.print_commands(project, environments, args.output_dir, progress, args.template_bucket)
        return 0
    with _aws(args, project, progress, bootstrap=False) as ctx:
        bootstrap.bootstrap(ctx, project, environments, args.output_dir, progress, plan_only=args.plan,
                            template_bucket=args.template_bucket)
    return 0


@_with_progress
def run_deploy(args: argparse.Namespace, progress: Progress) -> int:
    from herd_cfn.operations.deploy import Target, aws_cli_command, deploy

    project = load_project(args.parameters_dir)
    if args.print_aws_cli:
        stacks = [s for s in registry.select(args.stack) if s.scope == "stackset"]
        built.ensure_fresh(project, args.output_dir)
        for env in project.select(args.env):
            for stack in stacks:
                b = built.load(args.output_dir, stack, env.name)
                target = Target(env.name, env.account_id, env.region, names.stack_name(stack.name),
                                stack.tags(env.name))
                progress.log(f"# {stack.name} in {env.name} (account {env.account_id})")
                progress.log(aws_cli_command(target, b, args.template_bucket))
        return 0
    if not args.env or args.env == "all":
        raise InputError("command line", "--env", "deploy needs one environment, e.g. --env dev")
    if not args.stack or len(args.stack) != 1:
        raise InputError("command line", "--stack", "deploy needs exactly one --stack NAME")
    stack = registry.get(args.stack[0])
    if stack.scope != "stackset":
        raise InputError("--stack", None, f"{stack.name} is deployed by `herd-cfn bootstrap`")
    env = project.environment(args.env)
    built.ensure_fresh(project, args.output_dir)
    b = built.load(args.output_dir, stack, env.name)
    target = Target(env.name, env.account_id, env.region, names.stack_name(stack.name), stack.tags(env.name))
    with _aws(args, project, progress, bootstrap=False) as ctx:
        deploy(ctx, target, b, progress, plan_only=args.plan, template_bucket=args.template_bucket)
    return 0


@_with_progress
def run_status(args: argparse.Namespace, progress: Progress) -> int:
    from herd_cfn.operations.status import report

    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    with _aws(args, project, progress, bootstrap=False) as ctx:
        report(ctx, project, environments, progress)
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from herd_cfn.operations import doctor

    # Plain lines, no live table: the emulator's banner and bootstrap come before the report.
    progress = Progress(sys.stdout)

    def open_aws(project: Project):
        return _aws(args, project, progress, check_credentials=False)

    return doctor.run(args.parameters_dir, args.output_dir, args.env, open_aws, sys.stdout)


def _ask(question: str) -> bool:
    return input(question).strip().lower() in ("y", "yes")


@_with_progress
def run_restore(args: argparse.Namespace, progress: Progress) -> int:
    from herd_cfn.operations.restore import restore

    # Refused before the first call: nobody could answer the question, and the restore takes the platform down.
    if not args.yes and not args.plan and not sys.stdin.isatty():
        raise InputError("command line", "--yes", "restore takes the platform down and asks first, but there is "
                         "no terminal to answer on; pass --yes (or --plan to only see the steps)")
    if args.env == "all":
        raise InputError("command line", "--env", "restore works on one environment, e.g. --env dev")
    project = load_project(args.parameters_dir)
    env = project.environment(args.env)
    with _aws(args, project, progress, bootstrap=False) as ctx:
        done = restore(ctx, env, args.recovery_point, progress, plan_only=args.plan,
                       confirm=(lambda _: True) if args.yes else _ask)
    return 0 if done else 1
