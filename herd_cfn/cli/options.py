"""What the commands share: the parser that turns usage errors into one ``error:`` line, the options
each kind of command takes, and opening AWS access (real accounts, an endpoint, or the emulator)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from herd_cfn.build import artifacts
from herd_cfn.config.environments import Environment, Project
from herd_cfn.errors import InputError
from herd_cfn.templates.registry import load_project

if TYPE_CHECKING:
    from herd_cfn.operations.aws import AwsContext
    from herd_cfn.operations.progress import Progress
    from herd_cfn.operations.waiting import Polling


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a HerdError so it reads like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError("command line", None, f"{message} (see {self.prog} --help)")


def add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parameters-dir", default="parameters", type=Path,
                        help="directory with project.json and one <env>.json per environment (default: parameters)")
    parser.add_argument("--output-dir", default="output", type=output_directory,
                        help="where the generated templates and parameter files live (default: output)")


def output_directory(value: str) -> Path:
    """``--output-dir``: a directory, or a path where one can be made (no file in the way)."""
    path = Path(value)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file" if part == path else f"runs through {part}, which is a file"
                raise argparse.ArgumentTypeError(f"{value!r} {what}; expected a directory (made if missing)")
            break
    return path


def add_aws_access(parser: argparse.ArgumentParser) -> None:
    add_paths(parser)
    g = parser.add_argument_group("AWS access")
    g.add_argument("--local", action="store_true",
                   help="run against the emulator (moto on 127.0.0.1) with the project's accounts simulated")
    g.add_argument("--endpoint-url", type=endpoint_url,
                   help="send every AWS call to this URL (e.g. a moto server at http://127.0.0.1:5000)")
    g.add_argument("--profile", help="base AWS profile (default: the standard credential chain)")
    g.add_argument("--account-profile", action="append", default=[], metavar="ACCOUNT_OR_ENV=PROFILE",
                   help="profile for one account (account id, environment name or 'administrator'); repeatable")
    g.add_argument("--role-name", help="assume this role in each account from the base credentials "
                                       "(e.g. OrganizationAccountAccessRole)")


def endpoint_url(value: str) -> str:
    """``--endpoint-url``: an http(s) URL with a host, refused by the parser rather than by botocore."""
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a URL; expected http:// or https:// and a host, e.g. http://127.0.0.1:5000")
    return value


# AWS access flags that mean nothing to the emulator: it simulates every account with its own credentials.
_REAL_ACCESS_FLAGS = (("endpoint_url", "--endpoint-url", "--local starts its own endpoint; drop --endpoint-url"),
                      ("profile", "--profile", "the emulator has its own credentials; drop --profile"),
                      ("account_profile", "--account-profile",
                       "the emulator reaches every account itself; drop --account-profile"),
                      ("role_name", "--role-name", "the emulator reaches every account itself; drop --role-name"))


def refuse_ignored_access_flags(args: argparse.Namespace) -> None:
    """With --local, the flags for real accounts would be silently ignored: say so instead."""
    if not getattr(args, "local", False):
        return
    for attribute, flag, rule in _REAL_ACCESS_FLAGS:
        if getattr(args, attribute, None):
            raise InputError("command line", "--local" if flag == "--endpoint-url" else flag, rule)


def refuse_with_print(args: argparse.Namespace, print_flag: str) -> None:
    """A command that only prints makes no AWS call: flags about AWS access or planning would be ignored."""
    for attribute, flag in (("local", "--local"), ("endpoint_url", "--endpoint-url"), ("profile", "--profile"),
                            ("account_profile", "--account-profile"), ("role_name", "--role-name"),
                            ("plan", "--plan")):
        if getattr(args, attribute, None):
            raise InputError("command line", flag, f"{print_flag} only prints commands and calls no AWS API, so "
                             f"{flag} would be ignored; drop one of them")


def seconds(value: str) -> float:
    """A waiting time: a positive, finite number of seconds (0 would poll AWS in a tight loop)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return number


def add_waiting(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("waiting for AWS")
    g.add_argument("--poll-interval", type=seconds, default=5.0, help="first poll interval in seconds (default 5)")
    g.add_argument("--poll-max", type=seconds, default=30.0, help="longest poll interval in seconds (default 30)")
    g.add_argument("--timeout", type=seconds, default=3600.0, help="give up waiting after this many seconds")


def add_template_bucket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template-bucket", help="S3 bucket for templates over 51,200 bytes")


def add_deploying(parser: argparse.ArgumentParser) -> None:
    """The options of a command that deploys templates: AWS access, waiting, and the bucket for large ones."""
    add_aws_access(parser)
    add_waiting(parser)
    add_template_bucket(parser)


def _account_profiles(args: argparse.Namespace, project: Project) -> dict[str, str]:
    result = {}
    for item in args.account_profile:
        key, sep, profile = item.partition("=")
        if not sep or not profile:
            raise InputError("--account-profile", item, "expected ACCOUNT_OR_ENV=PROFILE")
        if key == "administrator":
            key = project.settings.administrator_account_id
        elif not key.isdigit():
            key = project.environment(key).account_id
        result[key] = profile
    return result


def _polling(args: argparse.Namespace) -> Polling:
    from herd_cfn.operations.waiting import Polling

    if not hasattr(args, "poll_interval"):
        return Polling()
    return Polling(initial=args.poll_interval, maximum=max(args.poll_max, args.poll_interval), timeout=args.timeout)


@contextmanager
def aws_access(args: argparse.Namespace, project: Project, progress: Progress, bootstrap: bool = True,
               check_credentials: bool = True) -> Iterator[AwsContext]:
    """The AWS access of every command. ``check_credentials=False`` skips the first GetCallerIdentity for
    callers that report missing credentials themselves (``doctor``). The AWS SDK is imported here, not by
    every command (``build_templates.py`` needs none)."""
    from herd_cfn.operations.aws import AwsContext, translate_errors

    refuse_ignored_access_flags(args)
    if args.local:
        from herd_cfn.operations.local import emulator

        with emulator(project, args.output_dir, progress, bootstrap=bootstrap) as ctx:
            yield ctx
        return
    ctx = AwsContext(endpoint_url=args.endpoint_url, profile=args.profile, role_name=args.role_name,
                     account_profiles=_account_profiles(args, project), polling=_polling(args))
    ctx.check_profiles(project.settings.administrator_region)
    if not check_credentials:
        yield ctx
        return
    with translate_errors("checking credentials"):
        # One cheap read first: missing credentials or an unreachable endpoint end here, before any change.
        ctx.client(ctx.base_session(project.settings.administrator_region), "sts").get_caller_identity()
    yield ctx


def prepare(args: argparse.Namespace) -> tuple[Project, list[Environment]]:
    """parameters/ validated, the environments selected by --env, and output/ checked to be current."""
    project = load_project(args.parameters_dir)
    environments = project.select(args.env)
    artifacts.ensure_fresh(project, args.output_dir)
    return project, environments


def with_progress(run: Callable[[argparse.Namespace, Progress], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from herd_cfn.operations.progress import for_stream

        progress = for_stream(sys.stdout)
        try:
            return run(args, progress)
        finally:
            progress.close()
    return handler
