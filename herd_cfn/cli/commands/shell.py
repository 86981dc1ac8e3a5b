"""``herd-cfn shell``: a shell (or one command) in the running task of manager, keycloak or postgresql."""

from __future__ import annotations

import argparse
import sys

from herd_cfn.cli.options import add_aws_access, aws_access
from herd_cfn.errors import InputError
from herd_cfn.operations import shell
from herd_cfn.operations.progress import Progress
from herd_cfn.templates.registry import load_project

NAME = "shell"
HELP = "open a shell (or run --command) in a service's running task through ECS Exec"


def add_session_options(p: argparse.ArgumentParser) -> None:
    add_aws_access(p)
    p.add_argument("--env", required=True, help="the environment (e.g. dev)")
    p.add_argument("--print", action="store_true", dest="print_only",
                   help="print the aws ecs execute-command to run instead of running it")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_session_options(p)
    p.add_argument("service", choices=sorted(shell.TARGETS), metavar="SERVICE",
                   help=f"one of {', '.join(sorted(shell.TARGETS))}")
    p.add_argument("--command", default=shell.DEFAULT_COMMAND,
                   help=f"what to run in the container, as root (default: {shell.DEFAULT_COMMAND})")
    p.set_defaults(handler=run)


def open_session(args: argparse.Namespace, service: str, command: str) -> int:
    if args.env == "all":
        raise InputError("command line", "--env", "a session goes into one environment, e.g. --env dev")
    if not args.print_only:
        shell.check_clients()
    project = load_project(args.parameters_dir)
    env = project.environment(args.env)
    # Plain lines on stderr: the terminal belongs to the session.
    with aws_access(args, project, Progress(sys.stderr), bootstrap=False) as ctx:
        session = shell.prepare(ctx, env, service, command)
    if args.print_only:
        print("\n".join(shell.describe(session)))
        return 0
    print(f"{service} in {env.name}: {session.shown()}", file=sys.stderr)
    return shell.run(session)


def run(args: argparse.Namespace) -> int:
    return open_session(args, args.service, args.command)
