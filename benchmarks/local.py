#!/usr/bin/env python3
"""The emulator that stays up: how long ``herd-cfn local start`` takes to answer, bootstrap plus a rollout
of every stack in both accounts on it, and the no-op rollout after it (read calls only).

Targets (issue 11, a 2-core machine): start ≤ 5 s; bootstrap + rollout ≤ 60 s; the no-op rollout makes
no mutating call. The machine's load average is printed with the figures: other work on the machine
slows every figure down.

Usage: PYTHONPATH=. python benchmarks/local.py [--starts 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from herd_cfn import cli  # noqa: E402
from herd_cfn.emulator.server import free_port  # noqa: E402
from herd_cfn.operations import aws as herd_aws  # noqa: E402
from herd_cfn.operations import local  # noqa: E402


def herd(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "herd_cfn", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"herd-cfn {' '.join(args)} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")
    return time.perf_counter() - started, done


def run(*argv: str) -> tuple[float, herd_aws.CallRecorder]:
    started = time.perf_counter()
    with herd_aws.recording() as calls, contextlib.redirect_stdout(io.StringIO()) as out:
        code = cli.main(list(argv))
    if code != 0:
        raise SystemExit(f"herd-cfn {' '.join(argv)} failed with {code}:\n{out.getvalue()[-3000:]}")
    return time.perf_counter() - started, calls


def measure_start() -> tuple[float, float]:
    """(``local start`` command, emulator alone: process start until it answers), then stopped."""
    command, _ = herd("local", "start", "--port", str(free_port()))
    herd("local", "stop")
    started = time.perf_counter()
    local.start(free_port())
    alone = time.perf_counter() - started
    local.stop()
    return command, alone


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="how many times to measure `local start`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[local.STATE_FILE_VARIABLE] = str(Path(tmp) / ".herd-local.json")
        load = os.getloadavg()[0]
        starts = [measure_start() for _ in range(args.starts)]
        herd("local", "start", "--port", str(free_port()))
        try:
            bootstrap_s, _ = run("bootstrap", "--local")
            rollout_s, first = run("rollout", "--local", "--env", "all")
            noop_s, noop = run("rollout", "--local", "--env", "all")
        finally:
            herd("local", "stop")
    command = statistics.median(s[0] for s in starts)
    alone = statistics.median(s[1] for s in starts)
    print(f"load average (1 min) at the start: {load:.1f} on {os.cpu_count()} cores; stacks: "
          f"{', '.join(local.EMULATOR_STACKS)} in dev and prod")
    print("| measure | seconds | target |")
    print("|---|---:|---:|")
    print(f"| `herd-cfn local start` until it printed the URL (median of {args.starts}) | {command:.1f} | 5 |")
    print(f"| the emulator alone: process start until it answers (median of {args.starts}) | {alone:.1f} | — |")
    print(f"| bootstrap (3 stacks) | {bootstrap_s:.1f} | — |")
    print(f"| rollout of every stack, dev then prod ({len(first.calls)} API calls, {len(first.mutating)} mutating) "
          f"| {rollout_s:.1f} | — |")
    print(f"| bootstrap + rollout | {bootstrap_s + rollout_s:.1f} | 60 |")
    print(f"| no-op rollout ({len(noop.calls)} API calls, {len(noop.mutating)} mutating) | {noop_s:.1f} | — |")
    if noop.mutating:
        print(f"the no-op rollout made mutating calls: {noop.mutating}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
