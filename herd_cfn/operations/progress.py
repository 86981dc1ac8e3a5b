"""Progress of long-running operations: a live table on a terminal, plain log lines otherwise (CI logs).

Both show the same facts per operation: environment, account, stack, action, status and elapsed time.
The live table has one row per account and one column per stack, so 50 accounts rolling out at once
stay readable; when they do not fit the terminal, accounts whose every stack succeeded fold into one
line. :meth:`Progress.summary` sums up at the end: per stack, how many accounts ended in which state.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass
class Row:
    environment: str
    account: str
    stack: str
    action: str
    status: str = "STARTING"
    elapsed: float = 0.0


class Progress:
    """Plain lines: one when an operation starts, one per status change, one when it ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.rows: dict[str, Row] = {}

    def log(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def start(self, key: str, row: Row) -> None:
        self.rows[key] = row
        self.log(f"{_stamp()} {row.environment} {row.account} {row.stack}: {row.action} started")

    def update(self, key: str, status: str, elapsed: float) -> None:
        row = self.rows[key]
        # "started" was said already; with 50 accounts a RUNNING line per operation is only noise.
        changed = status != row.status and (row.status, status) != ("STARTING", "RUNNING")
        row.status, row.elapsed = status, elapsed
        if changed:
            self.log(f"{_stamp()} {row.environment} {row.account} {row.stack}: {row.action} {status} "
                     f"({elapsed:.0f}s)")

    def close(self) -> None:
        """Stop any live display (idempotent)."""

    def summary(self) -> None:
        """One line per stack: how many accounts ended in which state, and the longest operation."""
        if not self.rows:
            return
        self.close()
        latest = {(row.account, row.stack): row for row in self.rows.values()}  # an account's last operation
        for stack in dict.fromkeys(row.stack for row in latest.values()):
            rows = [row for row in latest.values() if row.stack == stack]
            counts = Counter(row.status for row in rows)
            slowest = max(rows, key=lambda row: row.elapsed)
            self.log(f"summary {stack}: {', '.join(f'{n} {status}' for status, n in sorted(counts.items()))} "
                     f"of {len({row.account for row in rows})} account(s); longest {slowest.elapsed:.0f}s "
                     f"({slowest.environment} {slowest.action})")


class LiveProgress(Progress):
    """A rich live table, redrawn on each poll; log lines are printed above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=self.stream)
        self.live: Any = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
        self.live.start()

    def _table(self) -> Any:
        """Accounts down, stacks across; each cell the account's latest operation on that stack."""
        from rich.table import Table

        cells: dict[tuple[str, str], dict[str, Row]] = {}
        stacks: list[str] = []
        for row in self.rows.values():
            cells.setdefault((row.environment, row.account), {})[row.stack] = row
            if row.stack not in stacks:
                stacks.append(row.stack)
        table = Table(title="StackSet operations", expand=False)
        for column in ("environment", "account", *stacks):
            table.add_column(column)
        room = max(5, shutil.get_terminal_size((100, 40)).lines - 10)
        folded = 0
        for (environment, account), by_stack in cells.items():
            finished = all(r.status == "SUCCEEDED" for r in by_stack.values())
            if len(cells) - folded > room and finished:
                folded += 1
                continue
            table.add_row(environment, account, *(_cell(by_stack.get(stack)) for stack in stacks))
        if folded:
            table.caption = f"and {folded} more account(s) where every stack SUCCEEDED"
        return table

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    def start(self, key: str, row: Row) -> None:
        self.rows[key] = row
        self.live.update(self._table())

    def update(self, key: str, status: str, elapsed: float) -> None:
        row = self.rows[key]
        row.status, row.elapsed = status, elapsed
        self.live.update(self._table())

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()


def _cell(row: Row | None) -> str:
    if row is None:
        return ""
    style = {"SUCCEEDED": "green", "FAILED": "red", "STOPPED": "yellow"}.get(row.status, "cyan")
    return f"{row.action.removesuffix('StackInstances').removesuffix('StackSet')} [{style}]{row.status}[/{style}] " \
           f"{row.elapsed:.0f}s"


def for_stream(stream: TextIO | None = None) -> Progress:
    stream = stream or sys.stdout
    return LiveProgress(stream) if stream.isatty() else Progress(stream)


def _stamp() -> str:
    return time.strftime("%H:%M:%S")
