"""Progress of long-running operations: a live table on a terminal, plain log lines otherwise (CI logs).

Both show the same facts per operation: environment, account, stack, action, status and elapsed time.
"""

from __future__ import annotations

import sys
import time
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
        changed = status != row.status
        row.status, row.elapsed = status, elapsed
        if changed:
            self.log(f"{_stamp()} {row.environment} {row.account} {row.stack}: {row.action} {status} "
                     f"({elapsed:.0f}s)")

    def close(self) -> None:
        """Stop any live display (idempotent)."""


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
        from rich.table import Table

        table = Table(title="StackSet operations", expand=False)
        for column in ("environment", "account", "stack", "action", "status", "elapsed"):
            table.add_column(column)
        for row in self.rows.values():
            style = {"SUCCEEDED": "green", "FAILED": "red", "STOPPED": "yellow"}.get(row.status, "cyan")
            table.add_row(row.environment, row.account, row.stack, row.action,
                          f"[{style}]{row.status}[/{style}]", f"{row.elapsed:.0f}s")
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
        self.live.stop()


def for_stream(stream: TextIO | None = None) -> Progress:
    stream = stream or sys.stdout
    return LiveProgress(stream) if stream.isatty() else Progress(stream)


def _stamp() -> str:
    return time.strftime("%H:%M:%S")
