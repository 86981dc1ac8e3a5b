"""``herd-cfn status``: what is deployed in each account, read-only."""

from __future__ import annotations

import argparse

from herd_cfn.cli.options import add_aws_access, aws_access, with_progress
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.status import report
from herd_cfn.templates.registry import load_project

NAME = "status"
HELP = "show the stack instances and the GitHub connection of each account (read-only)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_aws_access(p)
    p.add_argument("--env", help="dev, prod… or all (default: all)")
    p.set_defaults(handler=run)


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        report(ctx, project, environments, progress)
    return 0
