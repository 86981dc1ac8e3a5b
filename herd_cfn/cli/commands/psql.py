"""``herd-cfn psql``: psql in the PostgreSQL task as the database owner, over the container's local socket."""

from __future__ import annotations

import argparse

from herd_cfn.cli.commands.shell import add_session_options, open_session
from herd_cfn.operations import shell

NAME = "psql"
HELP = f"psql into the {shell.DATABASE} database as its owner through ECS Exec (no password needed)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_session_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return open_session(args, "postgresql", shell.PSQL_COMMAND)
