"""``herd-cfn rollout``: every StackSet and its instances, environment by environment."""

from __future__ import annotations

import argparse

from herd_cfn.build import artifacts
from herd_cfn.cli.options import add_deploying, aws_access, prepare, with_progress
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.rollout import Rollout, select_stacks
from herd_cfn.operations.waves import WaveRollout, plan_waves

NAME = "rollout"
HELP = "create or update every StackSet and its stack instances, wave by wave (project.json waves)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_deploying(p)
    p.add_argument("--env", help="dev, prod… or all (default: all, in project order)")
    p.add_argument("--stack", action="append", metavar="NAME", help="only this stack (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="show what would change; read-only calls only")
    p.add_argument("--serial", action="store_true",
                   help="one environment and one stack at a time, waiting for each operation (no waves)")
    p.set_defaults(handler=run)


@with_progress
def run(args: argparse.Namespace, progress: Progress) -> int:
    stacks = select_stacks(args.stack)
    project, environments = prepare(args)
    for env in environments:  # every file read before the first call
        for stack in stacks:
            artifacts.load(args.output_dir, stack, env.name)
    with aws_access(args, project, progress) as ctx:
        rollout = Rollout(ctx, project, args.output_dir, progress, args.template_bucket)
        if args.serial:
            result = rollout.run(environments, stacks, dry_run=args.dry_run)
        else:
            result = WaveRollout(rollout, stacks, args.dry_run).run(plan_waves(project.waves, environments))
    progress.summary()
    changed = len(result.changed)
    if args.dry_run:
        progress.log(f"dry run: {changed} of {len(result.plans)} stack instance(s) would change; nothing was changed")
    else:
        progress.log(f"rollout complete: {len(result.operations)} operation(s), {len(result.plans) - changed} "
                     f"stack instance(s) unchanged")
    return 0
