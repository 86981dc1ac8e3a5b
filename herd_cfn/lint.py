"""cfn-lint, in-process, on every generated template: the same gate for tests, benchmarks and CI."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from herd_cfn.stacks.base import StackDefinition

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


def lint_stacks(stacks: list[StackDefinition], regions: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    for stack in stacks:
        findings.extend(lint_template(stack.template_body(), stack.name, regions))
    return findings
