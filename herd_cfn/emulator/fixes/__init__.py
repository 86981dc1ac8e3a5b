"""Gaps of moto 5.2.5 that herd-cfn's templates and commands hit, filled in the moto of this process.

Each module here is shaped like an upstream moto patch: its docstring names the gap, the AWS document
the fix follows, and its test (tests/emulator/) shows the documented behaviour. Each makes moto answer
what AWS documents, so the templates of output/ deploy unchanged to the emulator (stacks and StackSets
alike). Installed by :meth:`herd_cfn.emulator.server.LocalAws.start`, so the tests, the benchmark and
``--local`` run the same moto. Real AWS never sees any of this.
"""

from __future__ import annotations

from importlib import import_module

# One module per gap; each has install() (idempotent, changes moto in this process only).
FIXES = (
    "get_azs",
    "efs_attributes",
    "stackset_instance_names",
    "stackset_managed_execution",
    "stackset_operation_latency",
    "emulator_speed",
)

_installed = False


def install() -> None:
    """Idempotent; changes moto's classes and functions in this process only."""
    global _installed
    if _installed:
        return
    for name in FIXES:
        import_module(f"{__name__}.{name}").install()
    _installed = True
