"""``--local`` and ``herd-cfn local``: the emulator (moto plus herd-cfn's fixes) on 127.0.0.1, with the
project's accounts simulated.

``herd-cfn local start`` runs one in the background (``python -m herd_cfn.emulator``) and records it in
:data:`STATE_FILE` in the working directory; every command with ``--local`` then uses it, so what one
command deploys the next one sees. With none running, ``--local`` starts a throwaway emulator inside the
command, as before. Either way the emulator gets what the runbook's prerequisites say the accounts
already have (the StackSet roles, once: ``herd-cfn bootstrap``; the hosted zone ``edge.hosted_zone_id``
names; the Docker Hub login ``data.docker_hub_cache_secret_arn`` names, with a stand-in value). Nothing
leaves this machine: fake credentials, loopback address only.

This module imports the emulator package only inside functions: it is the seam between the operations
and moto (the persistent emulator is reached over HTTP only).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from herd_cfn import names
from herd_cfn.build import artifacts
from herd_cfn.config.environments import Project
from herd_cfn.errors import DeploymentError, InputError
from herd_cfn.operations.aws import AwsContext, translate_errors, unless_missing
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.waiting import EMULATOR_POLLING
from herd_cfn.templates import registry

# moto lets any role be assumed; the name only says what the role stands for.
EMULATOR_ROLE_NAME = "herd-emulated-access"
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5000  # moto_server's
# Where `herd-cfn local start` records the running emulator (git-ignored); HERD_CFN_LOCAL_FILE moves it.
STATE_FILE = ".herd-local.json"
STATE_FILE_VARIABLE = "HERD_CFN_LOCAL_FILE"
START_TIMEOUT = 30.0  # seconds; it answers in a few (imports of moto's backends) on an idle machine
STOP_TIMEOUT = 10.0
INFO_PATH = "/herd-emulator/info"

# The stacks `herd-cfn rollout --local` rolls out unless --stack says otherwise: every StackSet stack,
# now that herd_cfn.emulator.fixes lets moto create each template of output/ unchanged. The rollout
# tests, tests/operations/test_local_emulator.py and benchmarks/local.py use this list.
EMULATOR_STACKS = tuple(stack.name for stack in registry.stackset_stacks())

BANNER = ("*** EMULATOR: moto on {url}, accounts {accounts} are simulated; nothing here touches AWS and "
          "everything is gone when the command ends ***")
RUNNING_BANNER = ("*** EMULATOR: the running emulator on {url} (pid {pid}), accounts {accounts} are simulated; "
                  "nothing here touches AWS; state lasts until `herd-cfn local stop` ***")


# ---------------------------------------------------------------------------- the running emulator
@dataclass(frozen=True)
class Running:
    """What :data:`STATE_FILE` records about an emulator started by ``herd-cfn local start``."""

    url: str
    pid: int
    port: int
    log: str = ""


def state_file() -> Path:
    return Path(os.environ.get(STATE_FILE_VARIABLE) or STATE_FILE).absolute()


def _read_state(path: Path) -> Running | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Running(url=str(data["url"]), pid=int(data["pid"]), port=int(data["port"]), log=str(data.get("log", "")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise InputError(str(path), None, "not what `herd-cfn local start` writes; delete it (and end the "
                         "emulator it names, if any)") from None


def _write_state(path: Path, running: Running) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(running), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _info(url: str, timeout: float = 1.0) -> dict | None:
    """The emulator's own answer (``GET /herd-emulator/info``), None when nothing (of ours) answers."""
    try:
        with urllib.request.urlopen(url + INFO_PATH, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("emulator") == "herd-cfn" else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> Running | None:
    """The emulator recorded in the state file if it still answers as that process; a stale file (its
    process gone, or its port answered by something else) is removed."""
    path = state_file()
    recorded = _read_state(path)
    if recorded is None:
        return None
    info = _info(recorded.url)
    if info is not None and info.get("pid") == recorded.pid:
        return recorded
    path.unlink(missing_ok=True)
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server binds: connections of a stopped emulator in TIME_WAIT do not make the port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def start(port: int = DEFAULT_PORT, progress: Progress | None = None) -> tuple[Running, bool]:
    """Start the emulator in the background unless one runs; returns it and whether it was started now."""
    already = running()
    if already is not None:
        return already, False
    if not 0 < port < 65536:
        raise InputError("--port", str(port), "must be between 1 and 65535")
    if not _port_free(port):
        raise InputError("--port", str(port), f"{LOOPBACK}:{port} is in use; pass another --port")
    path = state_file()
    log_path = path.with_name(path.stem + ".log")
    with open(log_path, "ab") as log:
        # Its own session: it outlives this command and a Ctrl-C in this terminal does not reach it.
        process = subprocess.Popen(
            [sys.executable, "-m", "herd_cfn.emulator", "--port", str(port), "--quiet"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(),
                                                                          os.environ.get("PYTHONPATH")]))})
    recorded = Running(url=f"http://{LOOPBACK}:{port}", pid=process.pid, port=port, log=str(log_path))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeploymentError(f"the emulator ended at once (exit code {process.returncode}); its output: "
                                  f"{_tail(log_path)}")
        info = _info(recorded.url, timeout=0.5)
        if info is not None and info.get("pid") == process.pid:
            _write_state(path, recorded)
            return recorded, True
        time.sleep(0.05)
    _terminate(process.pid)
    raise DeploymentError(f"the emulator did not answer on {recorded.url} within {START_TIMEOUT:.0f}s and was "
                          f"stopped; its output: {_tail(log_path)}")


def _package_root() -> str:
    """So the child imports the same herd_cfn as this process, installed or not."""
    return str(Path(__file__).resolve().parents[2])


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) or "(none)"
    except OSError:
        return "(none)"


def _terminate(pid: int) -> None:
    """SIGTERM (the emulator shuts its server down), then SIGKILL after STOP_TIMEOUT."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if _reaped(pid) or not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reaped(pid: int) -> bool:
    """A child of this process (the tests start it so) must be waited for, or it stays a zombie."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def stop() -> tuple[Running | None, str]:
    """End the recorded emulator; returns what was recorded and what happened, in words."""
    path = state_file()
    recorded = _read_state(path)
    if recorded is None:
        return None, "no emulator is recorded (nothing to stop)"
    info = _info(recorded.url)
    if info is None or info.get("pid") != recorded.pid:
        # The process is gone (or its port now answers as someone else): never signal that pid.
        path.unlink(missing_ok=True)
        return recorded, f"the emulator recorded in {path} (pid {recorded.pid}) no longer runs; removed the file"
    _terminate(recorded.pid)
    path.unlink(missing_ok=True)
    return recorded, f"stopped the emulator on {recorded.url} (pid {recorded.pid}); its state is gone"


# ---------------------------------------------------------------------------- what is deployed
@dataclass(frozen=True)
class Deployed:
    account: str
    role: str  # "administrator", an environment name, or both
    stacks: list[tuple[str, str]]  # (name, status)
    stack_sets: list[tuple[str, str, str]]  # (name, status, instances "env:STATUS ...")


def _accounts(project: Project) -> dict[str, str]:
    """account id -> what it is to the project (administrator, dev, prod…)."""
    roles: dict[str, list[str]] = {project.settings.administrator_account_id: ["administrator"]}
    for env in project.environments.values():
        roles.setdefault(env.account_id, []).append(env.name)
    return {account: "+".join(role) for account, role in roles.items()}


def deployed(ctx: AwsContext, project: Project) -> list[Deployed]:
    """Per simulated account: its stacks, and (in the administrator account) the StackSets with the status
    of each instance."""
    region = project.settings.administrator_region
    env_of = {env.account_id: env.name for env in project.environments.values()}
    result = []
    for account, role in _accounts(project).items():
        cfn = ctx.client(ctx.session(account, region), "cloudformation")
        with translate_errors(f"listing the stacks of account {account}"):
            stacks = [(s["StackName"], s["StackStatus"]) for page in cfn.get_paginator("list_stacks").paginate()
                      for s in page.get("StackSummaries", []) if s["StackStatus"] != "DELETE_COMPLETE"]
            sets = []
            if account == project.settings.administrator_account_id:
                for summary in cfn.list_stack_sets(Status="ACTIVE").get("Summaries", []):
                    instances = cfn.list_stack_instances(StackSetName=summary["StackSetName"]).get("Summaries", [])
                    where = " ".join(f"{env_of.get(i.get('Account'), i.get('Account'))}:{i.get('Status')}"
                                     for i in instances) or "no instances"
                    sets.append((summary["StackSetName"], summary.get("Status", "?"), where))
        result.append(Deployed(account, role, sorted(stacks), sorted(sets)))
    return result


def report_status(project: Project, progress: Progress) -> bool:
    """``herd-cfn local status``; False when no emulator runs."""
    current = running()
    if current is None:
        progress.log(f"no emulator running (start one with `herd-cfn local start`; state file {state_file()})")
        return False
    progress.log(f"emulator running on {current.url} (pid {current.pid}); use it with --local, or with "
                 f"--endpoint-url {current.url} and credentials for account {DEFAULT_ACCOUNT}")
    with _connected():
        ctx = _context(current.url)
        for account in deployed(ctx, project):
            progress.log(f"account {account.account} ({account.role}):")
            if not account.stacks and not account.stack_sets:
                progress.log("  nothing deployed")
            for name, status in account.stacks:
                progress.log(f"  stack    {name:<45} {status}")
            for name, status, instances in account.stack_sets:
                progress.log(f"  StackSet {name:<45} {status:<8} instances: {instances}")
    return True


# ---------------------------------------------------------------------------- --local
DEFAULT_ACCOUNT = "123456789012"  # moto's, for credentials that assumed no role


def _context(url: str) -> AwsContext:
    return AwsContext(endpoint_url=url, role_name=EMULATOR_ROLE_NAME, polling=EMULATOR_POLLING)


@contextmanager
def _connected() -> Iterator[None]:
    """Credentials only the emulator accepts, for the calls to a running one."""
    from herd_cfn.emulator.server import fake_credentials

    with fake_credentials():
        yield


def _simulated_accounts(project: Project) -> str:
    return ", ".join(sorted(_accounts(project)))


def _roles_missing(ctx: AwsContext, project: Project) -> list[str]:
    """The StackSet roles ``herd-cfn bootstrap`` makes that the emulator does not have yet."""
    settings = project.settings
    wanted = [(settings.administrator_account_id, names.ADMINISTRATION_ROLE_NAME)]
    wanted += [(env.account_id, names.EXECUTION_ROLE_NAME) for env in project.environments.values()]
    missing = []
    for account, role in wanted:
        iam = ctx.client(ctx.session(account, settings.administrator_region), "iam")
        with translate_errors(f"reading role {role} in account {account}"):
            if unless_missing(lambda iam=iam, role=role: iam.get_role(RoleName=role), "NoSuchEntity") is None:
                missing.append(f"{account}/{role}")
    return missing


def _hosted_zones(project: Project, output_dir: Path) -> list[tuple[str, str, str]]:
    """(account, zone id, domain) of every hosted zone the edge parameters name: the runbook's
    prerequisite, which AWS accounts have before the first rollout."""
    edge = registry.get(names.EDGE)
    zones = []
    for env in project.environments.values():
        values = artifacts.load(output_dir, edge, env.name).parameters
        zone_id = values.get(names.Edge.HOSTED_ZONE_ID, "")
        if zone_id:
            zones.append((env.account_id, zone_id, values.get(names.Edge.DOMAIN, "")))
    return zones


def _docker_hub_logins(project: Project, output_dir: Path) -> list[str]:
    """The secret ARN of every Docker Hub login the data parameters name: the runbook's prerequisite too."""
    data = registry.get(names.DATA)
    logins = []
    for env in project.environments.values():
        arn = artifacts.load(output_dir, data, env.name).parameters.get(names.Data.DOCKER_HUB_CACHE_LOGIN_ARN, "")
        if arn:
            logins.append(arn)
    return logins


def _seed(url: str, what: str, path: str, body: dict) -> bool:
    """Ask the emulator for something an account already has (``POST /herd-emulator/<path>``); True if new."""
    request = urllib.request.Request(url + "/herd-emulator/" + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(json.loads(response.read()).get("created"))
    except (OSError, ValueError) as exc:
        raise DeploymentError(f"the emulator on {url} refused the {what}: {exc}") from None


def _seed_prerequisites(url: str, project: Project, output_dir: Path, progress: Progress) -> None:
    for account, zone_id, domain in _hosted_zones(project, output_dir):
        if _seed(url, f"hosted zone {zone_id}", "hosted-zone",
                 {"account_id": account, "zone_id": zone_id, "domain": domain}):
            progress.log(f"emulator: hosted zone {zone_id} ({domain}) in account {account}, as "
                         "edge.hosted_zone_id says the account has it")
    for arn in _docker_hub_logins(project, output_dir):
        if _seed(url, f"secret {arn}", "secret", {"arn": arn}):
            progress.log(f"emulator: secret {arn.split(':secret:', 1)[1]} in account {arn.split(':')[4]} (a "
                         "stand-in login), as data.docker_hub_cache_secret_arn says the account has it")


def prepare(ctx: AwsContext, url: str, project: Project, output_dir: Path, progress: Progress,
            bootstrap: bool) -> None:
    """What the accounts have before the first rollout: hosted zones and Docker Hub logins, then (unless
    there) the StackSet roles."""
    _seed_prerequisites(url, project, output_dir, progress)
    if not bootstrap:
        return
    missing = _roles_missing(ctx, project)
    if not missing:
        return
    from herd_cfn.operations.bootstrap import bootstrap as run_bootstrap

    progress.log(f"emulator: bootstrapping the StackSet roles ({', '.join(missing)} missing)")
    run_bootstrap(ctx, project, list(project.environments.values()), output_dir, progress)


@contextmanager
def emulator(project: Project, output_dir: Path, progress: Progress, bootstrap: bool = True
             ) -> Iterator[AwsContext]:
    """The running emulator (``herd-cfn local start``) if there is one, else a throwaway one for this command."""
    current = running()
    if current is not None:
        with _connected():
            progress.log(RUNNING_BANNER.format(url=current.url, pid=current.pid,
                                               accounts=_simulated_accounts(project)))
            ctx = _context(current.url)
            prepare(ctx, current.url, project, output_dir, progress, bootstrap)
            yield ctx
            _say_recorded((_info(current.url) or {}).get("recorded") or [], progress)
        return
    with _throwaway(project, output_dir, progress, bootstrap) as ctx:
        yield ctx


@contextmanager
def _throwaway(project: Project, output_dir: Path, progress: Progress, bootstrap: bool) -> Iterator[AwsContext]:
    from herd_cfn.emulator.server import LocalAws, fake_credentials, skipped_resource_types

    # moto's web server logs every request; the banner and our own lines are what the user needs.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    with fake_credentials(), skipped_resource_types() as skipped:
        server = LocalAws().start()
        try:
            progress.log(BANNER.format(url=server.endpoint_url, accounts=_simulated_accounts(project)))
            ctx = _context(server.endpoint_url)
            prepare(ctx, server.endpoint_url, project, output_dir, progress, bootstrap)
            yield ctx
        finally:
            server.stop()
            if skipped:
                progress.log(f"emulator: moto's CloudFormation created no {', '.join(sorted(skipped))} (it skips "
                             "these types without an error; AWS creates them)")
            from herd_cfn.emulator.fixes._model import RECORDED
            from herd_cfn.emulator.server import recorded_types

            _say_recorded(recorded_types(RECORDED), progress)


def _say_recorded(types: list[str], progress: Progress) -> None:
    if types:
        progress.log(f"emulator: {', '.join(types)} only recorded (moto has no service to read them back from; "
                     "their ids and attributes are the documented ones)")
