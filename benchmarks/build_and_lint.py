#!/usr/bin/env python3
"""Benchmark: build all templates for all environments, and the full cfn-lint gate.

Targets (issue 2/3): build <= 1 s, lint <= 5 s, for all templates.

    .venv/bin/python benchmarks/build_and_lint.py [--runs N]

Measures, each as the median of N runs:
  build (in-process)   render + parameter checks of every stack and environment, caches cleared
  build (command)      `python build_templates.py --check` as a user runs it, interpreter start included
  lint  (one process)  `python -m herd_cfn.build.lint`: cfn-lint's rules loaded once, every template linted
                       on every core, in a fresh process (imports, rule loading and rendering included)
  lint  (cfn-lint CLI) `cfn-lint output/templates/*.yaml`, the first gate of scripts/test.sh
and the size of every template against CloudFormation's 51,200-byte limit.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from herd_cfn.build import render  # noqa: E402
from herd_cfn.templates import registry  # noqa: E402
from herd_cfn.templates.registry import load_project  # noqa: E402


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def build_in_process() -> None:
    for stack in registry.all_stacks():
        stack._cache.clear()
    project = load_project(ROOT / "parameters")
    render.render(project, list(registry.all_stacks()))


def build_command() -> None:
    subprocess.run([sys.executable, "build_templates.py", "--check"], cwd=ROOT, check=True, capture_output=True)


def lint_one_process() -> None:
    subprocess.run([sys.executable, "-m", "herd_cfn.build.lint"], cwd=ROOT, check=True, capture_output=True)


def lint_command() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    templates = sorted(str(p) for p in (ROOT / "output/templates").glob("*.yaml"))
    subprocess.run([str(cfn_lint), *templates], cwd=ROOT, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    stacks = registry.all_stacks()
    environments = len(load_project(ROOT / "parameters").environments)
    print(f"{len(stacks)} templates, {environments} environments, median of {args.runs} runs\n")
    rows = [
        ("build (in-process)", timed(build_in_process, args.runs), 1.0),
        ("build (command)", timed(build_command, args.runs), 1.0),
        ("lint (one process)", timed(lint_one_process, args.runs), 5.0),
        ("lint (cfn-lint CLI)", timed(lint_command, args.runs), None),
    ]
    print(f"{'measure':<22}{'seconds':>9}{'target':>9}")
    for name, seconds, target in rows:
        flag = "" if target is None or seconds <= target else "  OVER TARGET"
        shown = "-" if target is None else f"{target:.1f}"
        print(f"{name:<22}{seconds:>9.2f}{shown:>9}{flag}")
    print(f"\n{'template':<28}{'bytes':>8}{'of 51,200':>11}")
    for stack in stacks:
        size = len(stack.template_body().encode())
        print(f"{stack.name:<28}{size:>8}{size / 51200:>10.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
