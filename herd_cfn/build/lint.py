"""cfn-lint, in-process, on every generated template: the same gate for tests, benchmarks and CI."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from herd_cfn.templates.base import StackDefinition

# Severity names cfn-lint uses; the gate fails on both (informational findings are not reported).
FAILING = ("error", "warning")


@dataclass(frozen=True)
class Finding:
    stack: str
    rule: str
    severity: str
    message: str
    line: int

    def __str__(self) -> str:
        return f"{self.stack}.yaml:{self.line}: {self.rule} ({self.severity}) {self.message}"


@lru_cache(maxsize=4)
def _runner(regions: tuple[str, ...]):
    # Loading cfn-lint's rules takes about a second; load them once per process, not per template.
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=list(regions))))


def lint_template(body: str, stack: str, regions: list[str]) -> list[Finding]:
    from cfnlint.decode import decode_str

    template, errors = decode_str(body)
    matches = errors or list(_runner(tuple(sorted(regions))).validate_template(template))
    return [
        Finding(stack, m.rule.id, m.rule.severity.lower(), m.message, m.linenumber)
        for m in matches
        if m.rule.severity.lower() in FAILING
    ]


def _lint_job(job: tuple[str, str, list[str]]) -> list[Finding]:
    body, name, regions = job
    return lint_template(body, name, regions)


def lint_stacks(stacks: list[StackDefinition], regions: list[str]) -> list[Finding]:
    """Every template, across the machine's cores. The rules are loaded once, before forking, so each
    worker starts with them (loading them is a third of the gate's time)."""
    import multiprocessing
    import os

    jobs = sorted(((s.template_body(), s.name, regions) for s in stacks), key=lambda j: -len(j[0]))
    _runner(tuple(sorted(regions)))
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        results = [_lint_job(job) for job in jobs]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_lint_job, jobs, chunksize=1)
    order = {s.name: i for i, s in enumerate(stacks)}
    return sorted((f for found in results for f in found), key=lambda f: (order[f.stack], f.line, f.rule))


def main() -> None:
    """``python -m herd_cfn.build.lint``: the lint gate in one process, for the benchmark and for users."""
    import os
    import sys

    from herd_cfn.templates import registry
    from herd_cfn.templates.registry import load_project

    project = load_project("parameters")
    regions = sorted({e.region for e in project.environments.values()} | {project.settings.administrator_region})
    findings = lint_stacks([s.for_project(project) for s in registry.all_stacks()], regions)
    for finding in findings:
        print(finding)
    print(f"cfn-lint: {len(registry.all_stacks())} templates, {len(findings)} findings")
    sys.stdout.flush()
    # Skip the interpreter's teardown of cfn-lint's schema caches (most of a second): nothing is left
    # to write, and the exit code is all that remains to say.
    os._exit(1 if findings else 0)


if __name__ == "__main__":
    main()
