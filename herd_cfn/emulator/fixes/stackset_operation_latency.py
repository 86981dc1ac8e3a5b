"""StackSet operations take time: QUEUED or RUNNING until S seconds after they started, then SUCCEEDED.

Gap: moto 5.2.5 completes every StackSet operation synchronously, inside the call that starts it, so a
rollout that waits for operations one after another costs nothing there and its slowness on AWS (minutes
per operation) cannot be measured.
AWS: the StackSets user guide, "Stack set operation status" (an operation is RUNNING, then SUCCEEDED,
FAILED or STOPPED; QUEUED while managed execution holds it back) and "stack instance status" (an
instance an operation works on is OUTDATED with the detailed status PENDING or RUNNING); the API
reference, ManagedExecution: with it, non-conflicting operations run concurrently and conflicting ones
queue; without it, one operation at a time (a second one is refused with OperationInProgressException).

Configured with :func:`configure` or the environment variable HERD_EMULATOR_OPERATION_SECONDS (read at
each operation; 0, the default, keeps moto's instant operations). The resources of a stack instance
are still made at once; only the status that the StackSet APIs report waits.

Simplification: two operations conflict when they touch the same stack instance, or when either has no
instances (a StackSet-level update). AWS adds that while operations run or are queued, incoming ones are
queued as well; how soon it starts them is not documented, so the emulator starts non-conflicting ones
at once: it measures what a rollout does with concurrency, not AWS's scheduler.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

ENVIRONMENT_VARIABLE = "HERD_EMULATOR_OPERATION_SECONDS"

_configured: float | None = None
_lock = threading.Lock()


@dataclass
class _Timing:
    created: float
    start: float
    end: float
    targets: frozenset[tuple[str, str]]  # (account, region); empty: the StackSet itself
    final: str

    def status(self, now: float) -> str:
        if now >= self.end:
            return self.final
        return "RUNNING" if now >= self.start else "QUEUED"

    def conflicts(self, targets: frozenset[tuple[str, str]]) -> bool:
        return not self.targets or not targets or bool(self.targets & targets)


_timings: dict[tuple[str, str], _Timing] = {}  # (StackSet id, operation id)


def configure(seconds: float | None) -> None:
    """Set the latency of every later StackSet operation (None: read the environment variable again)."""
    global _configured
    _configured = seconds


def operation_seconds() -> float:
    if _configured is not None:
        return _configured
    try:
        return max(0.0, float(os.environ.get(ENVIRONMENT_VARIABLE) or 0))
    except ValueError:
        return 0.0


def _open(stackset_id: str, now: float) -> list[_Timing]:
    return [t for (sid, _), t in _timings.items() if sid == stackset_id and now < t.end]


def _refresh(stackset_id: str, operation: dict[str, Any]) -> None:
    timing = _timings.get((stackset_id, operation.get("OperationId")))
    if timing is None or operation["Status"] == "STOPPED":
        return
    operation["Status"] = timing.status(time.monotonic())
    done = operation["Status"] == timing.final
    operation["EndTimestamp"] = (operation["CreationTimestamp"] + timedelta(seconds=timing.end - timing.created)
                                 if done else None)


def _guarded(original: Any) -> Any:
    """A backend action that starts an operation: refused while another runs unless the StackSet is managed."""
    from moto.cloudformation.exceptions import CloudFormationError

    from herd_cfn.emulator.fixes.stackset_managed_execution import is_managed

    class OperationInProgressException(CloudFormationError):
        code = "OperationInProgressException"

    def action(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("stackset_name", args[0] if args else None)
        stackset = self.describe_stack_set(name)
        if operation_seconds() > 0 and not is_managed(stackset):
            with _lock:
                running = _open(stackset.id, time.monotonic())
            if running:
                raise OperationInProgressException(f"Another Operation on StackSet {stackset.arn} is in progress")
        return original(self, *args, **kwargs)
    return action


def install() -> None:
    from moto.cloudformation.models import CloudFormationBackend, StackInstance, StackSet

    from herd_cfn.emulator.fixes.stackset_managed_execution import is_managed

    original_create = StackSet._create_operation
    original_update = StackSet.update
    original_get = StackSet.get_operation
    original_to_dict = StackInstance.to_dict
    original_list = CloudFormationBackend.list_stack_set_operations

    def _create_operation(self: Any, operation_id: str, action: str, status: str,
                          accounts: list[str] | None = None, regions: list[str] | None = None) -> dict[str, Any]:
        operation = original_create(self, operation_id, action, status, accounts, regions)
        seconds = operation_seconds()
        # moto's UpdateStackSet records an extra operation for the instances it updates; only the
        # operation the caller started takes time.
        inner = getattr(self, "_herd_update_operation", None) not in (None, operation_id)
        if seconds <= 0 or status != "SUCCEEDED" or inner:
            return operation
        targets = frozenset((a, r) for a in accounts or [] for r in regions or [])
        now = time.monotonic()
        with _lock:
            managed = is_managed(self)
            ahead = [t.end for t in _open(self.id, now) if not managed or t.conflicts(targets)]
            start = max([now, *ahead])
            _timings[(self.id, operation_id)] = _Timing(now, start, start + seconds, targets, status)
        _refresh(self.id, operation)
        return operation

    def update(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._herd_update_operation = kwargs.get("operation_id")
        try:
            return original_update(self, *args, **kwargs)
        finally:
            self._herd_update_operation = None

    def get_operation(self: Any, operation_id: str) -> dict[str, Any]:
        operation = original_get(self, operation_id)
        _refresh(self.id, operation)
        return operation

    def list_stack_set_operations(self: Any, stackset_name: str) -> list[dict[str, Any]]:
        operations = original_list(self, stackset_name)
        stackset_id = self.describe_stack_set(stackset_name).id
        for operation in operations:
            _refresh(stackset_id, operation)
        return operations

    def to_dict(self: Any) -> dict[str, Any]:
        result = original_to_dict(self)
        now = time.monotonic()
        with _lock:
            working = [t for t in _open(self.stackset_id, now) if (self.account_id, self.region_name) in t.targets]
        if working:
            result["Status"] = "OUTDATED"
            running = any(t.status(now) == "RUNNING" for t in working)
            result["StackInstanceStatus"] = {"DetailedStatus": "RUNNING" if running else "PENDING"}
        return result

    StackSet._create_operation = _create_operation
    StackSet.update = update
    StackSet.get_operation = get_operation
    StackInstance.to_dict = to_dict
    CloudFormationBackend.list_stack_set_operations = list_stack_set_operations
    for name in ("create_stack_instances", "update_stack_instances", "update_stack_set", "delete_stack_instances"):
        setattr(CloudFormationBackend, name, _guarded(getattr(CloudFormationBackend, name)))
