"""The one way herd-cfn waits for AWS: poll with backoff, give up after a timeout, and on Ctrl-C or a
timeout say what still runs in AWS and how to watch or stop it. Every command that waits uses this."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from herd_cfn.errors import DeploymentError


@dataclass(frozen=True)
class Polling:
    """How often to ask AWS whether an operation finished: start fast, back off to ``maximum``.

    Real StackSet operations take minutes, so the defaults poll every 5 s growing to 30 s; the
    emulator answers at once and uses a few milliseconds.
    """

    initial: float = 5.0
    maximum: float = 30.0
    factor: float = 1.5
    timeout: float = 3600.0

    def intervals(self) -> Iterator[float]:
        interval = self.initial
        while True:
            yield interval
            interval = min(self.maximum, interval * self.factor)


EMULATOR_POLLING = Polling(initial=0.01, maximum=0.2, factor=2.0, timeout=60.0)


@dataclass(frozen=True)
class Waiting:
    """What is waited for, in words, and what the user can do if the wait ends early."""

    what: str                 # e.g. "UpdateStackSet op-1 on StackSet herd-network (dev 111111111111)"
    aftermath: str = ""       # e.g. "\n  watch: aws ...\n  stop:  aws ..."
    goes_on_in_aws: bool = True


def poll(polling: Polling, describe: Callable[[], str | None], done: Callable[[str], bool],
         on_poll: Callable[[str, float], None] | None = None, *, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> str:
    """Call ``describe`` with backoff until ``done(status)``; the last status is returned.

    Raises TimeoutError(status) after ``polling.timeout`` seconds.
    """
    started = clock()
    for interval in polling.intervals():
        status = describe() or "UNKNOWN"
        elapsed = clock() - started
        if on_poll:
            on_poll(status, elapsed)
        if done(status):
            return status
        if elapsed + interval > polling.timeout:
            raise TimeoutError(status)
        sleep(interval)
    raise AssertionError("unreachable")  # pragma: no cover


def wait_for(polling: Polling, waiting: Waiting, describe: Callable[[], str | None], done: Callable[[str], bool],
             on_poll: Callable[[str, float], None] | None = None, *,
             on_interrupt: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> str:
    """:func:`poll`, with a timeout turned into one DeploymentError and Ctrl-C reported through
    ``on_interrupt`` (then re-raised, so the command ends with exit code 130)."""
    goes_on = "; it goes on in AWS." if waiting.goes_on_in_aws else ";"
    try:
        return poll(polling, describe, done, on_poll, sleep=sleep, clock=clock)
    except KeyboardInterrupt:
        if on_interrupt:
            on_interrupt(f"interrupted: {waiting.what} is still running in AWS; nothing else was started."
                         f"{waiting.aftermath}")
        raise
    except TimeoutError as exc:
        raise DeploymentError(f"{waiting.what} is still {exc.args[0]} after {polling.timeout:.0f}s"
                              f"{goes_on}{waiting.aftermath}") from None
