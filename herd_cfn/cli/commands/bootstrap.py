"""``herd-cfn bootstrap``: the StackSet administration and execution roles, once per account."""

from __future__ import annotations

import argparse

from herd_cfn.cli.options import add_deploying, aws_access, prepare, refuse_with_print, with_progress
from herd_cfn.operations import bootstrap
from herd_cfn.operations.progress import Progress

NAME = "bootstrap"
HELP = "deploy the StackSet administration and execution roles (once per account)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_deploying(p)
    p.add_argument("--env", help="only this environment's execution role (default: all)")
    p.add_argument("--print", action="store_true", dest="print_only",
                   help="print the `aws cloudformation deploy` commands instead of deploying")
    p.add_argument("--plan", action="store_true", help="show the change sets, deploy nothing")
    p.set_defaults(handler=run)


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    if args.print_only:
        refuse_with_print(args, "--print")
    project, environments = prepare(args)
    if args.print_only:
        bootstrap.print_commands(project, environments, args.output_dir, progress, args.template_bucket)
        return 0
    with aws_access(args, project, progress, bootstrap=False) as ctx:
        bootstrap.bootstrap(ctx, project, environments, args.output_dir, progress, plan_only=args.plan,
                            template_bucket=args.template_bucket)
    return 0
