"""What one doctor check found, and how the findings are printed: ✓/✗/! with colour on a terminal, plain
ASCII words in logs, pipes and under NO_COLOR (https://no-color.org)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TextIO

OK = "ok"
WARN = "warn"
MISSING = "missing"


@dataclass(frozen=True)
class Finding:
    state: str  # OK, WARN or MISSING
    what: str
    fix: str = ""  # a command or a console step; every WARN and MISSING finding has one


def ok(what: str) -> Finding:
    return Finding(OK, what)


def warn(what: str, fix: str) -> Finding:
    return Finding(WARN, what, fix)


def missing(what: str, fix: str) -> Finding:
    return Finding(MISSING, what, fix)


@dataclass
class Section:
    title: str
    findings: list[Finding] = field(default_factory=list)
    note: str = ""  # why the section stopped early, e.g. an account that cannot be reached

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding


_SYMBOLS = {OK: "✓", WARN: "!", MISSING: "✗"}
# Same width, so the findings line up in CI logs too; grep for FAIL finds every missing thing.
_WORDS = {OK: "ok  ", WARN: "warn", MISSING: "FAIL"}
_COLOURS = {OK: "\033[32m", WARN: "\033[33m", MISSING: "\033[31m"}
_RESET = "\033[0m"
_DIM = "\033[2m"


def fancy(stream: TextIO) -> bool:
    """Symbols and colour only on a terminal that can show them, and never under NO_COLOR."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return False
    try:
        "".join(_SYMBOLS.values()).encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def render(sections: list[Section], use_symbols: bool) -> list[str]:
    lines: list[str] = []
    for section in sections:
        lines.append(section.title)
        for finding in section.findings:
            if use_symbols:
                mark = f"{_COLOURS[finding.state]}{_SYMBOLS[finding.state]}{_RESET}"
            else:
                mark = _WORDS[finding.state]
            lines.append(f"  {mark} {finding.what}")
            if finding.fix:
                fix = f"fix: {finding.fix}"
                lines.append(f"      {_DIM}{fix}{_RESET}" if use_symbols else f"       {fix}")
        if section.note:
            lines.append(f"  {section.note}")
        lines.append("")
    lines.append(summary(sections))
    return lines


def counts(sections: list[Section]) -> tuple[int, int]:
    states = [f.state for s in sections for f in s.findings]
    return states.count(MISSING), states.count(WARN)


def summary(sections: list[Section]) -> str:
    failed, warned = counts(sections)
    warnings = f"{warned} warning{'s' if warned != 1 else ''}"
    if not failed:
        return f"doctor: nothing missing ({warnings})"
    return f"doctor: {failed} thing{'s' if failed != 1 else ''} missing, {warnings}"


def exit_code(sections: list[Section]) -> int:
    return 1 if counts(sections)[0] else 0
