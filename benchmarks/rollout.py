#!/usr/bin/env python3
"""API calls and wall time of a StackSet rollout to 2, 10 and 50 simulated accounts, and of the no-op
rollout after it, against moto on 127.0.0.1.

For each size it writes N environment files into a temp parameters dir (distinct account ids,
non-overlapping VPC CIDRs, the other values copied from parameters/dev.json), builds output/ into a
temp dir, bootstraps the roles, rolls out every stack moto can create, then rolls out again.

Usage: PYTHONPATH=. python benchmarks/rollout.py [--sizes 2 10 50] [--stacks network data]
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
        env["domain"] = f"{name}.platform-dev.herd-itt.com"
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


def measure(server: LocalAws, count: int, stacks: list[str]) -> dict:
    server.reset()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_parameters(work / "parameters", count)
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.build_templates_main(["--parameters-dir", str(work / "parameters"),
                                             "--output-dir", str(work / "output")]) == 0
        run("bootstrap", server.endpoint_url, work)
        stack_args = [a for s in stacks for a in ("--stack", s)]
        _, first_time, first = run("rollout", server.endpoint_url, work, *stack_args)
        _, noop_time, noop = run("rollout", server.endpoint_url, work, *stack_args)
    return {"accounts": count, "first_calls": len(first.calls), "first_mutating": len(first.mutating),
            "first_s": first_time, "noop_calls": len(noop.calls), "noop_mutating": len(noop.mutating),
            "noop_s": noop_time}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 10, 50])
    parser.add_argument("--stacks", nargs="+", default=list(DEFAULT_STACKS), help="stacks to roll out")
    args = parser.parse_args()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows = []
    # moto warns twice per resource it skips (Secrets Manager, Backup); one line at the end says which.
    with fake_credentials(), skipped_resource_types() as skipped:
        server = LocalAws().start()
        try:
            for size in args.sizes:
                rows.append(measure(server, size, args.stacks))
                print(f"measured {size} accounts", file=sys.stderr)
        finally:
            server.stop()
    print(f"stacks: {', '.join(args.stacks)}")
    if skipped:
        print(f"moto created no {', '.join(sorted(skipped))}")
    print("| accounts | rollout: API calls (mutating) | rollout: wall time | no-op: API calls (mutating) "
          "| no-op: wall time |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['accounts']} | {r['first_calls']} ({r['first_mutating']}) | {r['first_s']:.1f} s "
              f"| {r['noop_calls']} ({r['noop_mutating']}) | {r['noop_s']:.1f} s |")
    return 0 if all(r["noop_mutating"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
