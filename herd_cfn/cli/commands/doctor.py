"""``herd-cfn doctor``: what a deployment still needs, each missing thing with its fix (read-only)."""

from __future__ import annotations

import argparse
import sys

from herd_cfn.cli.options import add_aws_access, aws_access
from herd_cfn.config.environments import Project
from herd_cfn.errors import HerdError
from herd_cfn.operations import doctor
from herd_cfn.operations.progress import Progress
from herd_cfn.templates.registry import load_project

NAME = "doctor"
HELP = "check what a deployment needs; each missing thing with its fix (read-only)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_aws_access(p)
    p.add_argument("--env", help="dev, prod… or all (default: all)")
    p.set_defaults(handler=run)


def _refuse_unknown_env(args: argparse.Namespace) -> None:
    """An unknown --env is bad input (exit 2), said before the slower local checks; invalid parameters are
    not: doctor reports them as its first finding."""
    try:
        project = load_project(args.parameters_dir)
    except HerdError:
        return
    project.select(args.env)


def run(args: argparse.Namespace) -> int:
    _refuse_unknown_env(args)
    # Plain lines, no live table: the emulator's banner and bootstrap come before the report.
    progress = Progress(sys.stdout)

    def open_aws(project: Project):
        return aws_access(args, project, progress, check_credentials=False)

    return doctor.run(args.parameters_dir, args.output_dir, args.env, open_aws, sys.stdout)
