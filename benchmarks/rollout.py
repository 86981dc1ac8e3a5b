#!/usr/bin/env python3
"""Wall time, API calls and StackSet operations of a rollout to 2, 20 and 50 simulated accounts, and of
the no-op rollout after it, against moto on 127.0.0.1 with a latency per StackSet operation.

For each size it writes N environment files into a temp parameters dir (distinct account ids,
non-overlapping VPC CIDRs, the other values copied from parameters/dev.json; the project's default
waves: the first environment alone, then the others), builds output/ into a temp dir, bootstraps the
roles, rolls out every stack moto can create, then rolls out again. ``--operation-seconds S`` makes
every StackSet operation of the emulator finish S seconds after it started
(herd_cfn/emulator/fixes/stackset_operation_latency.py); ``--serial`` measures the one-at-a-time
rollout (``herd-cfn rollout --serial``) instead of the waves.

Usage: PYTHONPATH=. python benchmarks/rollout.py [--operation-seconds 1] [--sizes 2 20 50] [--serial] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from herd_cfn import cli  # noqa: E402
from herd_cfn.emulator.fixes import stackset_operation_latency  # noqa: E402
from herd_cfn.emulator.server import LocalAws, fake_credentials, skipped_resource_types  # noqa: E402
from herd_cfn.operations import aws as herd_aws  # noqa: E402
from herd_cfn.operations.local import EMULATOR_ROLE_NAME  # noqa: E402

# The stacks of the README's figures (no hosted zone needed); every stack in two accounts: benchmarks/local.py.
DEFAULT_STACKS = ("network", "data")


def write_parameters(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    template = json.loads((ROOT / "parameters" / "dev.json").read_text())
    names = [f"env{i:02d}" for i in range(1, count + 1)]
    project = json.loads((ROOT / "parameters" / "project.json").read_text())
    project["environments"] = names
    (directory / "project.json").write_text(json.dumps(project, indent=2))
    for i, name in enumerate(names, start=1):
        env = json.loads(json.dumps(template))
        env["account_id"] = f"{200000000000 + i:012d}"
        # Each account has its own Docker Hub login: ECR takes only a secret of the rule's account.
        login = env["data"].get("docker_hub_cache_secret_arn")
        if login:
            env["data"]["docker_hub_cache_secret_arn"] = login.replace(f":{template['account_id']}:",
                                                                       f":{env['account_id']}:")
        env["domain"] = f"{name}.platform-dev.herd-itt.com"
        env["pipeline"]["branch"] = name  # each environment deploys from its own branch
        env["network"]["vpc_cidr"] = f"10.{i}.0.0/16"
        (directory / f"{name}.json").write_text(json.dumps(env, indent=2))


def run(command: str, url: str, work: Path, *extra: str) -> tuple[int, float, herd_aws.CallRecorder]:
    argv = [command, "--endpoint-url", url, "--role-name", EMULATOR_ROLE_NAME, "--poll-interval", "0.01",
            "--poll-max", "0.2", "--parameters-dir", str(work / "parameters"), "--output-dir",
            str(work / "output"), *extra]
    started = time.perf_counter()
    with herd_aws.recording() as calls, contextlib.redirect_stdout(io.StringIO()) as out:
        code = cli.main(argv)
    if code != 0:
        raise SystemExit(f"{command} failed with {code}:\n{out.getvalue()[-2000:]}")
    return code, time.perf_counter() - started, calls


# Calls that start a StackSet operation.
OPERATION_CALLS = ("CreateStackInstances", "UpdateStackInstances", "UpdateStackSet", "DeleteStackInstances")


def operations(calls: herd_aws.CallRecorder) -> int:
    return sum(calls.count(name) for name in OPERATION_CALLS)


def measure(server: LocalAws, count: int, stacks: list[str], serial: bool) -> dict:
    server.reset()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_parameters(work / "parameters", count)
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.build_templates_main(["--parameters-dir", str(work / "parameters"),
                                             "--output-dir", str(work / "output")]) == 0
        run("bootstrap", server.endpoint_url, work)
        stack_args = [a for s in stacks for a in ("--stack", s)] + (["--serial"] if serial else [])
        _, first_time, first = run("rollout", server.endpoint_url, work, *stack_args)
        _, noop_time, noop = run("rollout", server.endpoint_url, work, *stack_args)
    return {"accounts": count, "mode": "serial" if serial else "waves", "wall_s": round(first_time, 2),
            "calls": len(first.calls), "mutating": len(first.mutating), "operations": operations(first),
            "calls_per_account": round(len(first.calls) / count, 1),
            "noop_wall_s": round(noop_time, 2), "noop_calls": len(noop.calls), "noop_mutating": len(noop.mutating),
            "noop_operations": operations(noop)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 20, 50])
    parser.add_argument("--stacks", nargs="+", default=list(DEFAULT_STACKS), help="stacks to roll out")
    parser.add_argument("--operation-seconds", type=float, default=1.0,
                        help="how long each emulated StackSet operation runs (default 1)")
    parser.add_argument("--serial", action="store_true", help="measure `rollout --serial` (one at a time)")
    parser.add_argument("--json", action="store_true", help="one JSON object per size instead of a table")
    args = parser.parse_args()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows = []
    stackset_operation_latency.configure(args.operation_seconds)
    # moto warns twice per resource it skips (Secrets Manager, Backup); one line at the end says which.
    with fake_credentials(), skipped_resource_types() as skipped:
        server = LocalAws().start()
        try:
            # Untimed: moto imports its services and parses each template on first use; without this the
            # first size would carry those seconds and flatter the ratios.
            measure(server, 1, args.stacks, args.serial)
            for size in args.sizes:
                rows.append(measure(server, size, args.stacks, args.serial))
                if args.json:
                    print(json.dumps({**rows[-1], "operation_seconds": args.operation_seconds}), flush=True)
                else:
                    print(f"measured {size} accounts", file=sys.stderr)
        finally:
            server.stop()
    if not args.json:
        print_table(rows, args)
        if skipped:
            print(f"moto created no {', '.join(sorted(skipped))}")
    return 0 if all(r["noop_mutating"] == 0 for r in rows) else 1


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"stacks: {', '.join(args.stacks)}; {args.operation_seconds:g} s per StackSet operation; "
          f"{'serial' if args.serial else 'waves'}")
    print("| accounts | rollout: wall time | vs. first size | API calls (per account) | operations "
          "| no-op: wall time | no-op: API calls (mutating) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    base = rows[0]["wall_s"] or 1
    for r in rows:
        print(f"| {r['accounts']} | {r['wall_s']:.1f} s | {r['wall_s'] / base:.1f} | {r['calls']} "
              f"({r['calls_per_account']}) | {r['operations']} | {r['noop_wall_s']:.1f} s "
              f"| {r['noop_calls']} ({r['noop_mutating']}) |")


if __name__ == "__main__":
    sys.exit(main())
