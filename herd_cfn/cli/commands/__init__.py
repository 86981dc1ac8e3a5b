"""One module per ``herd-cfn`` command: its options (``register``) and what it does (``run``); the logic
lives in herd_cfn.operations and herd_cfn.build. :func:`all_commands` is the order ``herd-cfn --help`` lists
them in; they are imported only when the whole CLI is built, so ``build_templates.py`` loads no AWS SDK."""

from __future__ import annotations

from types import ModuleType


def all_commands() -> tuple[ModuleType, ...]:
    from herd_cfn.cli.commands import (
        bootstrap,
        build,
        cost,
        deploy,
        doctor,
        local,
        psql,
        restore,
        rollout,
        shell,
        status,
    )

    return (build, bootstrap, rollout, deploy, status, doctor, restore, shell, psql, cost, local)
