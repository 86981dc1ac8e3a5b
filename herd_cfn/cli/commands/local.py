"""``herd-cfn local start|stop|status``: the emulator that stays up between commands."""

from __future__ import annotations

import argparse

from herd_cfn.cli.options import add_paths, with_progress
from herd_cfn.operations import local
from herd_cfn.operations.progress import Progress
from herd_cfn.templates.registry import load_project

NAME = "local"
HELP = "start, stop or show the emulator that every --local command then uses (state lasts between commands)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(p))
    start = actions.add_parser("start", help="start it in the background on 127.0.0.1 and print its URL",
                               description="start the emulator in the background on 127.0.0.1, wait until it "
                                           f"answers, print its URL and record it in {local.STATE_FILE}")
    start.add_argument("--port", type=int, default=local.DEFAULT_PORT,
                       help=f"port on 127.0.0.1 (default {local.DEFAULT_PORT})")
    start.set_defaults(handler=run_start)
    stop = actions.add_parser("stop", help="stop it (its state is gone)", description="stop the running emulator")
    stop.set_defaults(handler=run_stop)
    status = actions.add_parser("status", help="whether it runs, and what is deployed in each simulated account",
                                description="whether the emulator runs, and per simulated account its stacks "
                                            "and StackSets with their statuses (exit code 1: none runs)")
    add_paths(status)
    status.set_defaults(handler=run_status)


@with_progress
def run_start(args: argparse.Namespace, progress: Progress) -> int:
    current, started = local.start(args.port)
    if not started:
        progress.log(f"an emulator already runs on {current.url} (pid {current.pid}); `herd-cfn local stop` ends it")
    else:
        progress.log(f"emulator started on {current.url} (pid {current.pid}, log {current.log})")
        progress.log(f"every command with --local now uses it; or pass --endpoint-url {current.url}; "
                     "`herd-cfn local stop` ends it")
    progress.log(current.url)
    return 0


@with_progress
def run_stop(args: argparse.Namespace, progress: Progress) -> int:
    _, said = local.stop()
    progress.log(said)
    return 0


@with_progress
def run_status(args: argparse.Namespace, progress: Progress) -> int:
    return 0 if local.report_status(load_project(args.parameters_dir), progress) else 1
