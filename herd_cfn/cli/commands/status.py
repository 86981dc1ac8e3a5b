"""``herd-cfn status``: what is deployed in each account, read-only."""

from __future__ import annotations

import argparse

from herd_cfn.cli.options import add_aws_access, add_waiting, aws_access, with_progress
from herd_cfn.operations.drift import DriftCheck
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.status import report
from herd_cfn.templates.registry import load_project

NAME = "status"
HELP = "show the stack instances and the GitHub connection of each account; --drift: what changed by hand"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_aws_access(p)
    p.add_argument("--env", help="dev, prod… or all (default: all)")
    p.add_argument("--drift", action="store_true",
                   help="also run CloudFormation drift detection on every stack instance and list what drifted "
                        "(exit 1 on drift CodeDeploy did not cause)")
    add_waiting(p)
    p.set_defaults(handler=run)


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        report(ctx, project, environments, progress)
        if not args.drift:
            return 0
        drifts = DriftCheck(ctx, project, progress).run(environments)
    for drift in drifts:
        progress.log(drift.line())
    unexpected = [d for d in drifts if not d.expected]
    progress.log(f"drift: {len(unexpected)} drifted resource(s), {len(drifts) - len(unexpected)} changed by "
                 "CodeDeploy as designed")
    return 1 if unexpected else 0
