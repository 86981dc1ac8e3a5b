"""One module per ``herd-cfn`` command: its options (``register``) and what it does (``run``); the logic
lives in herd_cfn.operations and herd_cfn.build. ``ALL`` is the order ``herd-cfn --help`` lists them in."""

from __future__ import annotations

from herd_cfn.cli.commands import bootstrap, build, cost, deploy, doctor, local, psql, restore, rollout, shell, status

ALL = (build, bootstrap, rollout, deploy, status, doctor, restore, shell, psql, cost, local)
