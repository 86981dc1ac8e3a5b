"""The one registry of stacks: it drives the build, the tests and the rollout order.

To add a stack: write ``herd_cfn/templates/stacks/<name>/`` exposing ``STACK`` (a StackDefinition), add
its names to ``herd_cfn/names.py`` and list the module below. Everything else picks it up.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from herd_cfn.config.environments import Project, Schema
from herd_cfn.config.environments import load_project as load_with_schema
from herd_cfn.errors import InputError
from herd_cfn.templates.base import StackDefinition
from herd_cfn.templates.stacks import bootstrap, dashboard, data, edge, network, pipeline, service, traffic

# Order here is the tie-breaker of the dependency sort, so output and rollout order are stable.
STACK_MODULES = (bootstrap, network, data, edge, service, traffic, pipeline, dashboard)


@lru_cache(maxsize=1)
def _load() -> tuple[StackDefinition, ...]:
    stacks: list[StackDefinition] = []
    for module in STACK_MODULES:
        stacks.extend(getattr(module, "STACKS", None) or [module.STACK])
    by_name = {s.name: s for s in stacks}
    if len(by_name) != len(stacks):
        raise RuntimeError("two stacks share a name")
    for stack in stacks:
        for dep in stack.depends_on:
            if dep not in by_name:
                raise RuntimeError(f"stack {stack.name!r} depends on unknown stack {dep!r}")
    sorter = TopologicalSorter({s.name: list(s.depends_on) for s in stacks})
    try:
        sorter.prepare()
    except CycleError as exc:
        raise RuntimeError(f"stack dependency cycle: {exc.args[1]}") from None
    # Deterministic topological order: among ready stacks, keep registration order.
    position = {s.name: i for i, s in enumerate(stacks)}
    ordered: list[StackDefinition] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        for name in ready:
            ordered.append(by_name[name])
            sorter.done(name)
    return tuple(ordered)


def all_stacks() -> tuple[StackDefinition, ...]:
    """Every stack, dependencies before dependents."""
    return _load()


def stackset_stacks() -> tuple[StackDefinition, ...]:
    """The stacks rolled out as StackSets, in rollout order."""
    return tuple(s for s in _load() if s.scope == "stackset")


# The bootstrap's permissions boundary and execution role follow the roles of the StackSet stacks.
bootstrap.follow(stackset_stacks)


def names() -> list[str]:
    return [s.name for s in _load()]


def get(name: str, where: str = "--stack") -> StackDefinition:
    for stack in _load():
        if stack.name == name:
            return stack
    near = difflib.get_close_matches(name, names(), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise InputError(where, None, f"unknown stack {name!r} (known: {', '.join(names())}){hint}")


def select(selected: list[str] | None, where: str = "--stack") -> list[StackDefinition]:
    """The named stacks (all when none are named), always in dependency order."""
    if not selected:
        return list(_load())
    wanted = {get(name, where).name for name in selected}
    return [s for s in _load() if s.name in wanted]


@lru_cache(maxsize=1)
def schema() -> Schema:
    """The parameters files' schema: each stack's section and its cross-environment rules."""
    stacks = _load()
    return Schema(
        sections={s.config_key: s.config_model for s in stacks if s.config_key and s.config_model},
        rules=[s.validate_project for s in stacks if s.validate_project],
    )


def load_project(directory: str | Path = "parameters") -> Project:
    """``parameters/`` loaded and validated against every stack's section and rules."""
    return load_with_schema(directory, schema())
