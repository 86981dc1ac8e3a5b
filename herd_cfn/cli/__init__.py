"""``herd-cfn``: build the templates of OpenRemote on AWS Fargate and roll them out to the accounts.

Every bad input ends here as one ``error:`` line on stderr and exit code 2; a failed deployment as one
``error:`` line and exit code 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from herd_cfn import __version__
from herd_cfn.cli import commands
from herd_cfn.cli.commands import build
from herd_cfn.cli.options import Parser, refuse_ignored_access_flags
from herd_cfn.errors import HerdError

DESCRIPTION = ("Build the CloudFormation templates of herd-itt.com's OpenRemote platform into output/, and roll "
               "them out as StackSets to each environment's AWS account (try any command with --local first).")


def build_parser() -> Parser:
    parser = Parser(prog="herd-cfn", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"herd-cfn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for command in commands.all_commands():
        command.register(sub)
    return parser


def run(argv: Sequence[str] | None, parser: Parser) -> int:
    try:
        args = parser.parse_args(argv)
        refuse_ignored_access_flags(args)  # before any file is read
        return args.handler(args)
    except HerdError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv, build_parser())


def build_templates_main(argv: Sequence[str] | None = None) -> int:
    """``build_templates.py``: the build command on its own."""
    parser = Parser(prog="build_templates.py",
                    description="Render every stack's template and each environment's parameter values into output/.")
    build.add_arguments(parser)
    parser.set_defaults(handler=build.run)
    return run(argv, parser)
