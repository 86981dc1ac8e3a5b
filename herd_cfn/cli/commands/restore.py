"""``herd-cfn restore``: the database and /storage from an AWS Backup recovery point, or the database from a
pg_dump file (``--dump``)."""

from __future__ import annotations

import argparse
import re
import sys

from herd_cfn import names
from herd_cfn.cli.options import add_aws_access, add_waiting, aws_access, with_progress
from herd_cfn.config.environments import Environment
from herd_cfn.errors import InputError
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.restore import DUMP_NAME_PATTERN, restore, restore_dump
from herd_cfn.templates.registry import load_project

NAME = "restore"
HELP = "restore the database and /storage from an AWS Backup recovery point, or the database from a dump"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_aws_access(p)
    add_waiting(p)
    p.add_argument("--env", required=True, help="the environment to restore (e.g. dev)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--recovery-point", metavar="ARN", type=recovery_point_arn,
                        help="recovery point ARN (aws backup list-recovery-points-by-backup-vault "
                             f"--backup-vault-name {names.Data.BACKUP_VAULT_NAME})")
    source.add_argument("--dump", metavar="NAME",
                        help="file name of a pg_dump in /dumps on EFS, e.g. openremote-20261202T023000Z.dump "
                             "(see docs/deployments.md); the database only, /storage stays")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (needed without a terminal)")
    p.add_argument("--plan", action="store_true", help="print the steps; change nothing")
    p.set_defaults(handler=run)


# AWS Backup names an EFS recovery point arn:<partition>:backup:<region>:<account>:recovery-point:<id>; other
# resource types (EBS, RDS) have their own services' snapshot ARNs, which this restore cannot use.
RECOVERY_POINT = re.compile(r"arn:aws[a-z-]*:backup:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):recovery-point:"
                            r"[A-Za-z0-9-]{1,128}")
RECOVERY_POINT_FORM = "arn:aws:backup:<region>:<account>:recovery-point:<id>"


def recovery_point_arn(value: str) -> str:
    if not RECOVERY_POINT.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value[:80]!r} is not an AWS Backup recovery point of the file system; expected {RECOVERY_POINT_FORM} "
            f"(aws backup list-recovery-points-by-backup-vault --backup-vault-name {names.Data.BACKUP_VAULT_NAME})")
    return value


def _same_place(arn: str, env: Environment) -> None:
    found = RECOVERY_POINT.fullmatch(arn)
    assert found  # checked by the parser
    if (found["account"], found["region"]) != (env.account_id, env.region):
        raise InputError("--recovery-point", None,
                         f"the recovery point is in {found['account']}/{found['region']}, but environment "
                         f"{env.name!r} runs in {env.account_id}/{env.region}; give one of its own vault's")


def _ask(question: str) -> bool:
    return input(question).strip().lower() in ("y", "yes")


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    # Refused before the first call: nobody could answer the question, and the restore takes the platform down.
    if not args.yes and not args.plan and not sys.stdin.isatty():
        raise InputError("command line", "--yes", "restore takes the platform down and asks first, but there is "
                         "no terminal to answer on; pass --yes (or --plan to only see the steps)")
    if args.env == "all":
        raise InputError("command line", "--env", "restore works on one environment, e.g. --env dev")
    if args.dump is not None and not re.fullmatch(DUMP_NAME_PATTERN, args.dump):
        raise InputError("command line", "--dump", "must be a file name in /dumps ending in .dump (letters, digits, "
                         f"'.', '_', '-'; no directories), e.g. openremote-20261202T023000Z.dump; got {args.dump!r}")
    project = load_project(args.parameters_dir)
    env = project.environment(args.env)
    _same_place(args.recovery_point, env)
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        confirm = (lambda _: True) if args.yes else _ask
        if args.dump is not None:
            done = restore_dump(ctx, env, args.dump, progress, plan_only=args.plan, confirm=confirm)
        else:
            done = restore(ctx, env, args.recovery_point, progress, plan_only=args.plan, confirm=confirm)
    return 0 if done else 1
