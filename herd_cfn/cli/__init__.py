"""``herd-cfn``: build the templates, and (in later modules) roll them out.

Every bad input ends here as one ``error:`` line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from herd_cfn.build import render
from herd_cfn.errors import HerdError, InputError
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a HerdError so it reads like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError("command line", None, f"{message} (see {self.prog} --help)")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parameters-dir", default="parameters", type=Path,
                        help="directory with project.json and one <env>.json per environment (default: parameters)")
    parser.add_argument("--output-dir", default="output", type=Path,
                        help="where the generated templates and parameter files live (default: output)")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--stack", action="append", metavar="NAME",
                        help="build only this stack (repeatable); default: all")
    parser.add_argument("--env", action="append", metavar="NAME",
                        help="write parameter files only for this environment (repeatable); default: all")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the files that differ from what the code builds")


def run_build(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    project = load_project(args.parameters_dir)
    stacks = registry.select(args.stack)
    environments = [project.environment(name).name for name in args.env] if args.env else None
    artifacts = render.render(project, stacks, environments)
    full = not args.stack and not args.env
    if full:
        artifacts += render.picture_artifacts(project)
    extra = render.orphans(artifacts, args.output_dir) if full else []
    if args.check:
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
    changed = render.write(artifacts, args.output_dir)
    for path in extra:
        path.unlink()
        out(f"removed {path}")
    for path in changed:
        out(f"wrote {path}")
    out(f"{len(artifacts)} files, {len(changed)} changed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="herd-cfn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_build = sub.add_parser("build", help="render templates and parameter files into output/")
    add_build_arguments(p_build)
    p_build.set_defaults(handler=run_build)
    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands that live in their own modules register themselves here."""
    registrars = []
    for module_name in ("herd_cfn.cli.commands",):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.register)
    return registrars


def run(argv: Sequence[str] | None, parser: argparse.ArgumentParser) -> int:
    try:
        args = parser.parse_args(argv)
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
    parser = _Parser(prog="build_templates.py",
                     description="Render every stack's template and each environment's parameter values into output/.")
    add_build_arguments(parser)
    parser.set_defaults(handler=run_build)
    return run(argv, parser)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
