"""Roll out in waves: every account of a wave at once, each stack as soon as the stacks it needs are done.

For each wave (``parameters/project.json`` ``waves``; default: the first environment alone, then the
others together):

1. the stacks form a graph (``StackDefinition.depends_on``): a stack starts in the wave's accounts once
   every stack it needs succeeded there (data and edge together, after network);
2. a stack's step plans every account of the wave with read-only calls, then starts all the operations
   the step needs before waiting for any: the StackSet update (one operation for the wave's instances),
   then one CreateStackInstances/UpdateStackInstances per account. One per account, because every
   instance carries its own ParameterOverrides (VPC CIDR, domain…) and one operation applies the same
   overrides to all its accounts: grouping accounts with equal overrides would almost never group. So
   the calls per account stay constant (plan: 1 DescribeStackInstance; apply: 1 operation; wait: the
   polls of that operation), and managed execution (see rollout.py) runs them concurrently;
3. one waiter polls every open operation of the wave in one loop, with backoff;
4. a wave succeeds when at most its ``failure_tolerance`` accounts failed (a failed account gets no
   further stacks); otherwise nothing new starts, the open operations are followed to their end and
   the rollout stops before the next wave, naming each failed account, stack and AWS's reason.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

from herd_cfn.config.environments import Environment
from herd_cfn.errors import DeploymentError
from herd_cfn.operations.aws import translate_errors
from herd_cfn.operations.progress import Row
from herd_cfn.operations.rollout import DONE_STATUSES, Plan, Rollout, RolloutResult
from herd_cfn.templates.base import StackDefinition


@dataclass
class Operation:
    """One StackSet operation started by the rollout, and the instances (plans) it works on."""

    stackset: str
    operation_id: str
    action: str
    plans: list[Plan]
    started: float
    status: str = "RUNNING"

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES

    def progress_keys(self) -> list[str]:
        return [f"{self.stackset}/{self.operation_id}/{p.environment.account_id}" for p in self.plans]


@dataclass
class Failure:
    environments: list[str]
    lines: list[str]


@dataclass
class _Step:
    """A stack's work in one wave: a generator that yields the operations to wait for, phase by phase."""

    phases: Generator[list[Operation], None, None]
    operations: list[Operation] = field(default_factory=list)


@dataclass(frozen=True)
class WavePlan:
    number: int
    environments: list[Environment]
    failure_tolerance: int = 0

    def describe(self) -> str:
        accounts = ", ".join(f"{e.name} {e.account_id}" for e in self.environments)
        tolerance = f"; up to {self.failure_tolerance} account(s) may fail" if self.failure_tolerance else ""
        return f"== wave {self.number}: {len(self.environments)} account(s): {accounts}{tolerance}"


class WaveRollout:
    def __init__(self, rollout: Rollout, stacks: list[StackDefinition], dry_run: bool) -> None:
        self.rollout = rollout
        self.stacks = stacks
        self.dry_run = dry_run
        self.result = RolloutResult()
        self.open: dict[str, Operation] = {}
        self.failures: list[Failure] = []
        self.failed: set[str] = set()  # environments of this wave that failed: they get no further stacks

    @property
    def progress(self) -> Any:
        return self.rollout.progress

    @property
    def ctx(self) -> Any:
        return self.rollout.ctx

    # ----------------------------------------------------------------- the whole rollout
    def run(self, waves: list[WavePlan]) -> RolloutResult:
        tolerated: list[str] = []
        for index, wave in enumerate(waves):
            self.progress.log(wave.describe())
            self.failures, self.failed = [], set()
            self._wave(wave)
            if self._stopped(wave):
                raise DeploymentError("\n".join([*tolerated, *self._report(wave, waves[index + 1:])]))
            if self.failures:
                tolerated += self._report(wave, [])
                self.progress.log("\n".join(self._report(wave, [])))
        if tolerated:
            # Every wave ran, but accounts failed: the command must not look like a clean rollout.
            raise DeploymentError("\n".join([*tolerated, "every wave ran; the failures above were within their "
                                              "wave's failure_tolerance; fix them and roll out again"]))
        return self.result

    def _report(self, wave: WavePlan, rest: list[WavePlan]) -> list[str]:
        lines = [line for failure in self.failures for line in failure.lines]
        if self._stopped(wave):
            later = f"wave(s) {', '.join(str(w.number) for w in rest)} not started" if rest else "no later wave"
            ending = f"{later}; fix the cause and roll out again"
        else:
            ending = "within its failure_tolerance: the rollout goes on without the failed account(s)"
        lines.append(f"wave {wave.number}: {len(self.failed)} of {len(wave.environments)} account(s) failed "
                     f"(failure_tolerance {wave.failure_tolerance}); {ending}")
        return lines

    def _stopped(self, wave: WavePlan) -> bool:
        return len(self.failed) > wave.failure_tolerance

    # ----------------------------------------------------------------- one wave
    def _wave(self, wave: WavePlan) -> None:
        names = {s.name for s in self.stacks}
        order = {s.name: i for i, s in enumerate(self.stacks)}
        by_name = {s.name: s for s in self.stacks}
        sorter = TopologicalSorter({s.name: [d for d in s.depends_on if d in names] for s in self.stacks})
        sorter.prepare()
        steps: dict[str, _Step] = {}
        intervals = self.ctx.polling.intervals()
        try:
            while True:
                submitted = self._advance_finished(steps, sorter, wave)
                if not self._stopped(wave):
                    for name in sorted(sorter.get_ready(), key=order.__getitem__):
                        steps[name] = _Step(self._step(wave, by_name[name]))
                        submitted |= self._advance(name, steps, sorter, wave)
                if not self.open:
                    if submitted:
                        continue  # steps that finished without waiting may have made others ready
                    break
                if submitted:
                    intervals = self.ctx.polling.intervals()  # new operations: look again soon
                self.ctx.sleep(next(intervals))
                self._poll()
        except KeyboardInterrupt:
            self._interrupted()
            raise
        finally:
            for step in steps.values():
                step.phases.close()

    def _advance_finished(self, steps: dict[str, _Step], sorter: TopologicalSorter, wave: WavePlan) -> bool:
        submitted = False
        for name, step in list(steps.items()):
            if all(op.done for op in step.operations):
                submitted |= self._advance(name, steps, sorter, wave)
        return submitted

    def _advance(self, name: str, steps: dict[str, _Step], sorter: TopologicalSorter, wave: WavePlan) -> bool:
        """Run the step to its next wait; True when it started operations or finished."""
        step = steps[name]
        if self._stopped(wave):
            return False
        try:
            operations = next(step.phases)
        except StopIteration:
            del steps[name]
            sorter.done(name)
            return True
        step.operations = operations
        for operation in operations:
            self.open[operation.operation_id] = operation
        return True

    # ----------------------------------------------------------------- one stack in one wave
    def _step(self, wave: WavePlan, stack: StackDefinition) -> Generator[list[Operation], None, None]:
        plans = self._plans(wave, stack)
        if not plans:
            return
        if not plans[0].stackset_exists:
            if self._attempt(plans, lambda: self.rollout.create_stackset(plans[0]) or True) is None:
                return
        elif any(p.stackset_changes for p in plans):
            updated = yield from self._update_stackset(plans, wave)
            if not updated:
                return
        yield list(self._start_instances(plans, wave))

    def _plans(self, wave: WavePlan, stack: StackDefinition) -> list[Plan]:
        """The plans of the wave's accounts still in the running, shown; empty when nothing is to be done
        (no changes, a dry run, or too many failures)."""
        active = [e for e in wave.environments if e.name not in self.failed]
        if not active:
            return []
        together = frozenset(f"{e.account_id}/{e.region}" for e in active)
        plans = [plan for env in active if (plan := self._plan(env, stack, together))]
        if not plans or self._stopped(wave):
            return []
        self.result.plans.extend(plans)
        for plan in plans:
            for line in plan.describe():
                self.progress.log(f"  {line}")
        if self.dry_run:
            if any({"CreateStackSet", "UpdateStackSet"} & set(p.actions) for p in plans):
                self.rollout._template_updated.add(plans[0].stackset_name)
            return []
        return plans if any(p.actions for p in plans) else []

    def _update_stackset(self, plans: list[Plan], wave: WavePlan) -> Generator[list[Operation], None, bool]:
        """UpdateStackSet for the accounts whose instances it covers; True once it succeeded."""
        started = self._attempt(plans, lambda: self.rollout.start_stackset_update(plans, wave.failure_tolerance))
        if not started:
            return False
        operation_id, covered = started
        update = self._operation(plans[0].stackset_name, operation_id, "UpdateStackSet", covered or [plans[0]])
        yield [update]
        if update.status != "SUCCEEDED":
            return False
        self.rollout.after_stackset_update(plans, covered)
        return True

    def _plan(self, env: Environment, stack: StackDefinition, together: frozenset[str]) -> Plan | None:
        """The account's plan; one that cannot be made (an INOPERABLE instance…) fails that account."""
        try:
            return self.rollout.plan(env, stack, together)
        except DeploymentError as exc:
            self.failed.add(env.name)
            self.failures.append(Failure([env.name], exc.message.splitlines()))
            return None

    def _start_instances(self, plans: list[Plan], wave: WavePlan) -> Iterator[Operation]:
        for plan in plans:
            if self._stopped(wave):
                return  # too many accounts failed: start nothing more
            if plan.environment.name in self.failed:
                continue
            started = self._attempt([plan], lambda plan=plan: self.rollout.start_instance(plan))
            if started:
                yield self._operation(plan.stackset_name, started[0], started[1], [plan])

    def _attempt(self, plans: list[Plan], call: Any) -> Any:
        """``call()``; a refusal (moto refuses at once what AWS reports in the operation) is the failure
        of the plans' accounts."""
        try:
            return call()
        except DeploymentError as exc:
            self._fail(plans, exc.message.splitlines())
            return None

    def _operation(self, stackset: str, operation_id: str, action: str, plans: list[Plan]) -> Operation:
        operation = Operation(stackset, operation_id, action, plans, self.ctx.clock())
        for key, plan in zip(operation.progress_keys(), plans, strict=True):
            env = plan.environment
            self.progress.start(key, Row(env.name, env.account_id, plan.stack.name, action))
        self.result.operations.append(operation_id)
        return operation

    def _fail(self, plans: list[Plan], lines: list[str]) -> None:
        environments = [p.environment.name for p in plans]
        self.failed.update(environments)
        self.failures.append(Failure(environments, lines))

    # ----------------------------------------------------------------- the one waiter
    def _poll(self) -> None:
        """One round over every open operation of the wave."""
        now = self.ctx.clock()
        for operation in list(self.open.values()):
            operation.status = self._status(operation)
            for key in operation.progress_keys():
                self.progress.update(key, operation.status, now - operation.started)
            if operation.done:
                del self.open[operation.operation_id]
                if operation.status != "SUCCEEDED":
                    self._fail(operation.plans, self._failure_lines(operation))
            elif now - operation.started > self.ctx.polling.timeout:
                raise DeploymentError(self._timed_out(operation))

    def _status(self, operation: Operation) -> str:
        cfn = self.rollout.cfn
        with translate_errors(f"watching {operation.action} on {operation.stackset}"):
            return self.ctx.retrying(lambda: cfn.describe_stack_set_operation(
                StackSetName=operation.stackset, OperationId=operation.operation_id)["StackSetOperation"]["Status"])

    def _failure_lines(self, operation: Operation) -> list[str]:
        plan = operation.plans[0]
        accounts = ", ".join(f"{p.environment.name} {p.environment.account_id}" for p in operation.plans)
        head = (f"{operation.action} on StackSet {operation.stackset} {operation.status} ({accounts}, "
                f"stack {plan.stack.name})")
        return [head, *self.rollout.failure_reasons(plan, operation.operation_id, operation.action,
                                                    operation.status)]

    def _commands(self, operation: Operation) -> str:
        where = (f"--stack-set-name {operation.stackset} --operation-id {operation.operation_id} "
                 f"--region {self.rollout.admin_region}")
        return (f"\n  watch: aws cloudformation describe-stack-set-operation {where}"
                f"\n  stop:  aws cloudformation stop-stack-set-operation {where}")

    def _timed_out(self, operation: Operation) -> str:
        lines = [f"{operation.action} {operation.operation_id} on StackSet {operation.stackset} is still "
                 f"{operation.status} after {self.ctx.polling.timeout:.0f}s; it goes on in AWS."]
        lines += [f"{op.action} on {op.stackset} ({', '.join(p.environment.name for p in op.plans)}):"
                  f"{self._commands(op)}" for op in self.open.values()]
        return "\n".join(lines)

    def _interrupted(self) -> None:
        self.progress.close()
        lines = [f"interrupted: {len(self.open)} operation(s) still running in AWS; nothing else was started."]
        lines += [f"{op.action} on {op.stackset} ({', '.join(p.environment.name for p in op.plans)}):"
                  f"{self._commands(op)}" for op in self.open.values()]
        self.progress.log("\n".join(lines))


def plan_waves(waves: list[Any], environments: list[Environment]) -> list[WavePlan]:
    """The project's waves limited to the selected environments (``--env``); empty waves dropped."""
    selected = {e.name: e for e in environments}
    result = []
    for wave in waves:
        members = [selected[name] for name in wave.environments if name in selected]
        if members:
            result.append(WavePlan(len(result) + 1, members, wave.failure_tolerance))
    return result

