"""``herd-cfn build`` (and ``build_templates.py``): render every template and parameter file into output/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from herd_cfn.build import render
from herd_cfn.cli.options import add_paths
from herd_cfn.errors import InputError
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project

NAME = "build"
HELP = "render every template, parameter file and the architecture picture into output/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_paths(parser)
    parser.add_argument("--stack", action="append", metavar="NAME",
                        help="build only this stack (repeatable); default: all")
    parser.add_argument("--env", action="append", metavar="NAME",
                        help="write parameter files only for this environment (repeatable); default: all")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the files that differ from what the code builds")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    project = load_project(args.parameters_dir)
    stacks = registry.select(args.stack)
    environments = [project.environment(name).name for name in args.env] if args.env else None
    artifacts = render.render(project, stacks, environments)
    # Valid input that still deserves a line (e.g. no Docker Hub cache): said once everything rendered.
    for stack in stacks:
        for line in stack.warnings(project) if stack.warnings else ():
            print(f"warning: {line}", file=sys.stderr)
    full = not args.stack and not args.env
    if full:
        artifacts += render.picture_artifacts(project)
    extra = render.orphans(artifacts, args.output_dir) if full else []
    if args.check:
        return _check(artifacts, extra, args, out)
    try:
        changed = render.write(artifacts, args.output_dir)
    except OSError as exc:  # e.g. a read-only folder: one line, not a traceback
        raise InputError("--output-dir", str(exc.filename or args.output_dir),
                         f"cannot write: {exc.strerror or exc}") from None
    for path in extra:
        path.unlink()
        out(f"removed {path}")
    for path in changed:
        out(f"wrote {path}")
    out(f"{len(artifacts)} files, {len(changed)} changed")
    return 0


def _check(artifacts: list, extra: list, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    stale = render.stale(artifacts, args.output_dir)
    if not stale and not extra:
        out(f"output is up to date ({len(artifacts)} files)")
        return 0
    for path in stale:
        out(f"stale: {path}")
    for path in extra:
        out(f"not built by the code any more: {path}")
    out("output/ is stale: run `python build_templates.py` and commit the result")
    return 1
