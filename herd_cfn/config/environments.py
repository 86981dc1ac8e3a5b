"""Per-environment configuration (Sceptre-style): ``parameters/project.json`` plus one file per
environment, validated before anything else happens.

This layer knows no stack. The caller hands it a :class:`Schema`: the section of the parameters file
each stack reads (``network``, ``data``…, each a pydantic model kept next to its stack's template) and
the cross-environment rules. ``herd_cfn.templates.registry.load_project`` is the caller that knows
every stack.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator

from herd_cfn.errors import InputError
from herd_cfn.fields import AccountId, DomainName, Region, StrictModel

PROJECT_FILE = "project.json"


class EnvironmentBase(StrictModel):
    account_id: AccountId
    region: Region
    production: bool
    domain: DomainName


class WaveSettings(StrictModel):
    """A wave with a failure tolerance: ``{"environments": ["prod", "customer-*"], "failure_tolerance": 2}``."""

    environments: list[str]
    # How many accounts of this wave may fail while the next wave still starts.
    failure_tolerance: int = Field(default=0, ge=0)


class ProjectSettings(StrictModel):
    administrator_account_id: AccountId
    administrator_region: Region
    # Every environment's file; without ``waves``, also the rollout order (the first alone, then the others).
    environments: list[str]
    # Rollout waves: all accounts of a wave at once, a wave only after the one before succeeded. Each
    # entry is a list of environment names or glob patterns ("customer-*"), or a WaveSettings object.
    waves: list[WaveSettings] | None = None

    @field_validator("waves", mode="before")
    @classmethod
    def _plain_lists(cls, value: Any) -> Any:
        # A plain list is a wave without tolerance; one model keeps the error messages about one shape.
        if isinstance(value, list):
            return [{"environments": entry} if isinstance(entry, list) else entry for entry in value]
        return value


@dataclass(frozen=True)
class Wave:
    number: int  # 1-based, as the user counts them
    environments: tuple[str, ...]
    failure_tolerance: int = 0


@dataclass(frozen=True)
class Environment:
    name: str
    file: Path
    settings: EnvironmentBase  # an instance of Schema.environment_model(): the base plus one field per section
    project: ProjectSettings

    def __getattr__(self, item: str) -> Any:
        # env.network, env.account_id… read straight from the validated settings.
        return getattr(self.settings, item)


@dataclass(frozen=True)
class Project:
    directory: Path
    settings: ProjectSettings
    environments: dict[str, Environment]  # in rollout order

    @property
    def file(self) -> Path:
        return self.directory / PROJECT_FILE

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            near = difflib.get_close_matches(name, list(self.environments), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise InputError(
                str(self.file), "environments", f"unknown environment {name!r} (known: "
                f"{', '.join(self.environments)}){hint}"
            )
        return self.environments[name]

    @property
    def waves(self) -> list[Wave]:
        """The rollout waves, validated by :func:`resolve_waves` when the project was loaded."""
        return resolve_waves(self.settings, self.file)

    def select(self, name: str | None) -> list[Environment]:
        """``None`` or ``all`` selects every environment, in rollout order."""
        if name in (None, "all"):
            return list(self.environments.values())
        return [self.environment(name)]


@dataclass(frozen=True)
class Schema:
    """What the stacks read from the parameters files: a section model per key, and the rules that
    compare environments (e.g. VPC CIDRs must not overlap; each raises InputError)."""

    sections: Mapping[str, type[BaseModel]]
    rules: Sequence[Callable[[Project], None]] = ()
    _model: list[type[BaseModel]] = field(default_factory=list, repr=False, compare=False)

    def environment_model(self) -> type[BaseModel]:
        if not self._model:
            fields: dict[str, Any] = {key: (model, ...) for key, model in self.sections.items()}
            self._model.append(create_model("EnvironmentSettings", __base__=EnvironmentBase, **fields))
        return self._model[0]


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads keeps the last of two equal keys silently; a key given twice is a mistake either way."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputError(str(path), None, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(str(path), None, f"not UTF-8 text: {exc}") from None
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates)
    except _DuplicateKey as exc:
        raise InputError(str(path), exc.key, "key given twice in one object; keep one (JSON would silently "
                         "use the last)") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno} column {exc.colno}", f"malformed JSON: {exc.msg}") from None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys valid at ``loc`` in ``model``, to suggest the nearest one for an unknown key."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = info.annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _section_of(model: type[BaseModel], key: str) -> str | None:
    """The stack section of the environment file that has ``key``, if exactly one does."""
    homes = [section for section in model.model_fields if key in _fields_at(model, (section,))]
    return homes[0] if len(homes) == 1 else None


def _describe(error: dict[str, Any], model: type[BaseModel]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    key = ".".join(str(part) for part in loc) or "(top level)"
    kind = error["type"]
    if kind == "renamed":
        return key, f"unknown key; did you mean {error['renamed_to']!r}? (that key is missing)"
    if kind == "extra_forbidden":
        valid = _fields_at(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else f" (valid keys: {', '.join(valid)})"
        home = _section_of(model, str(loc[-1])) if len(loc) == 2 else None
        if home:  # e.g. a setting that moved to another stack's section
            hint = f"; it belongs in the {home!r} section"
        return key, f"unknown key{hint}"
    if kind == "missing":
        return key, "required key is missing"
    message = error["msg"]
    if message.startswith("Value error, "):
        return key, message.removeprefix("Value error, ")
    if kind.endswith("_type") or kind in ("model_type", "dict_type"):
        got = type(error.get("input")).__name__
        got = {"str": "string", "int": "number", "float": "number", "dict": "object", "list": "array",
               "bool": "boolean", "NoneType": "null"}.get(got, got)
        return key, f"wrong type: {message[0].lower()}{message[1:]}, got {got} {error.get('input')!r}"
    return key, message


def _renamed(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A misspelt key is both unknown and, under its real name, missing: pydantic reports the two apart.
    Pair them into one "unknown key; did you mean …?" (first), and drop the "missing" it explains."""
    missing = {tuple(e["loc"]): e for e in errors if e["type"] == "missing"}
    paired: list[dict[str, Any]] = []
    explained: set[tuple[Any, ...]] = set()
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        parent, key = tuple(error["loc"][:-1]), str(error["loc"][-1])
        candidates = [str(loc[-1]) for loc in missing if loc[:-1] == parent and loc not in explained]
        near = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
        if near:
            explained.add((*parent, near[0]))
            paired.append({**error, "type": "renamed", "renamed_to": near[0]})
    if not paired:
        return errors
    dropped = explained | {tuple(p["loc"]) for p in paired}
    return paired + [e for e in errors if tuple(e["loc"]) not in dropped]


def validate(model: type[BaseModel], data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = _renamed(exc.errors(include_url=False))
        key, rule = _describe(errors[0], model)
        more = len(errors) - 1
        if more:
            rule += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        raise InputError(str(path), key, rule) from None


def _refuse_shared_domain(env: Environment, earlier: dict[str, Environment]) -> None:
    """Each environment owns its domain and mqtt.<domain>: the certificate and DNS records of two
    environments on one name would take each other's traffic."""
    for other in earlier.values():
        names = {other.domain, f"mqtt.{other.domain}"}
        if env.domain in names or f"mqtt.{env.domain}" in names:
            raise InputError(str(env.file), "domain",
                             f"{env.domain} (with mqtt.{env.domain}) collides with environment {other.name!r}'s "
                             f"{other.domain} ({other.file}); give each environment its own domain")


def _check_environment_names(settings: ProjectSettings, project_path: Path) -> None:
    if not settings.environments:
        raise InputError(str(project_path), "environments", "list at least one environment")
    seen: set[str] = set()
    for name in settings.environments:
        if name in seen:
            raise InputError(str(project_path), "environments", f"{name!r} is listed twice")
        seen.add(name)
        if not name.replace("-", "").isalnum() or not name[0].isalpha() or name != name.lower():
            raise InputError(str(project_path), "environments",
                             f"{name!r} must be lower-case letters, digits and '-', starting with a letter")
        if name == PROJECT_FILE.removesuffix(".json"):
            raise InputError(str(project_path), "environments", f"{name!r} is reserved for the project file")


def _check_no_unlisted_files(directory: Path, settings: ProjectSettings, project_path: Path) -> None:
    listed = set(settings.environments)
    unlisted = sorted(p.name for p in directory.glob("*.json") if p.name != PROJECT_FILE and p.stem not in listed)
    if unlisted:
        raise InputError(str(directory / unlisted[0]), None,
                         f"environment file not listed in {project_path}'s environments; add it there or remove it")


def load_project(directory: str | Path, schema: Schema) -> Project:
    """Load and validate the project file and every environment file it lists."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), None, "parameters directory not found")
    project_path = directory / PROJECT_FILE
    settings: ProjectSettings = validate(ProjectSettings, _read_json(project_path), project_path)
    _check_environment_names(settings, project_path)
    _check_no_unlisted_files(directory, settings, project_path)

    model = schema.environment_model()
    environments: dict[str, Environment] = {}
    accounts: dict[str, str] = {}
    for name in settings.environments:
        path = directory / f"{name}.json"
        env = Environment(name=name, file=path, settings=validate(model, _read_json(path), path), project=settings)
        if env.account_id in accounts:
            raise InputError(str(path), "account_id",
                             f"account {env.account_id} is already used by environment {accounts[env.account_id]!r}; "
                             "each environment needs its own AWS account")
        accounts[env.account_id] = name
        _refuse_shared_domain(env, environments)
        environments[name] = env
    resolve_waves(settings, project_path)  # refused before anything else happens
    project = Project(directory=directory, settings=settings, environments=environments)
    for rule in schema.rules:
        rule(project)
    return project


def _wave_members(patterns: Sequence[str], number: int, names: Sequence[str], home: dict[str, int],
                  path: Path) -> tuple[str, ...]:
    """The environments a wave's patterns match, in order; ``home`` records each one's wave."""
    where = f"waves.{number - 1}"
    if not patterns:
        raise InputError(str(path), where, "empty wave; list at least one environment")
    members: list[str] = []
    for pattern in patterns:
        matched = fnmatch.filter(names, pattern)
        if not matched:
            raise InputError(str(path), where, f"{pattern!r} matches no environment of environments "
                             f"({', '.join(names)})")
        for name in matched:
            if home.get(name, number) != number:
                raise InputError(str(path), where, f"{name!r} (from {pattern!r}) is already in "
                                 f"waves.{home[name] - 1}; each environment belongs to exactly one wave")
            if name not in members:
                members.append(name)
            home[name] = number
    return tuple(members)


def resolve_waves(settings: ProjectSettings, path: Path) -> list[Wave]:
    """``waves`` with its patterns expanded; every environment in exactly one wave.

    Without ``waves``: the first environment alone (a canary), then all the others together.
    """
    names = settings.environments
    if settings.waves is None:
        default = [Wave(1, (names[0],))]
        return default + ([Wave(2, tuple(names[1:]))] if len(names) > 1 else [])
    if not settings.waves:
        raise InputError(str(path), "waves", "list at least one wave, or leave waves out for the default "
                         "(the first environment alone, then the others)")
    home: dict[str, int] = {}
    waves = [Wave(number, _wave_members(entry.environments, number, names, home, path), entry.failure_tolerance)
             for number, entry in enumerate(settings.waves, start=1)]
    missing = [name for name in names if name not in home]
    if missing:
        raise InputError(str(path), "waves", f"{', '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} "
                         "in no wave; add each environment to exactly one wave")
    return waves
