"""The small interface every stack answers (Copilot-style) and its typed inputs (stacker-style).

A stack declares its CloudFormation parameters as :class:`Input` objects: type, description,
constraints and how the value is taken from an environment's parameters file. The same declaration
produces the template's ``Parameters`` section and the per-environment parameter values, so the
two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from troposphere import Parameter, Template

from herd_cfn import names
from herd_cfn.templates.boundary import bound_every_role
from herd_cfn.templates.yaml_render import render_yaml

if TYPE_CHECKING:
    from pydantic import BaseModel

    from herd_cfn.config.environments import Environment, Project


@dataclass(frozen=True)
class Input:
    """One CloudFormation parameter and where its value comes from."""

    name: str
    description: str
    # An environment's value; for an administrator-scope stack, the project's (one administrator account).
    value: Callable[[Any], Any]
    type: str = "String"
    allowed_values: Sequence[str] | None = None
    allowed_pattern: str | None = None
    constraint: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    default: str | None = None
    no_echo: bool = False

    def parameter(self) -> Parameter:
        props: dict[str, Any] = {"Type": self.type, "Description": self.description}
        if self.allowed_values is not None:
            props["AllowedValues"] = list(self.allowed_values)
        if self.allowed_pattern is not None:
            props["AllowedPattern"] = self.allowed_pattern
        if self.constraint is not None:
            props["ConstraintDescription"] = self.constraint
        if self.min_value is not None:
            props["MinValue"] = self.min_value
        if self.max_value is not None:
            props["MaxValue"] = self.max_value
        if self.default is not None:
            props["Default"] = self.default
        if self.no_echo:
            props["NoEcho"] = True
        return Parameter(self.name, **props)


def parameter_string(value: Any) -> str:
    """CloudFormation parameter values are strings; lists become comma-delimited lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(parameter_string(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class Extension:
    """What a stack adds for one project (the same for every environment of it), e.g. the manager's
    plugin variables, whose names come from the parameters files: more inputs and a build step run
    after the stack's own. Equal keys must mean equal additions (the key caches the result)."""

    key: str
    inputs: Sequence[Input]
    build: Callable[[Template], None]


def combined(*extensions: Extension | None) -> Extension | None:
    """Several project-dependent parts of one stack as one Extension (None: there are none)."""
    present = [extension for extension in extensions if extension is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def build(t: Template) -> None:
        for extension in present:
            extension.build(t)

    return Extension("\n".join(e.key for e in present), [i for e in present for i in e.inputs], build)


@dataclass
class StackDefinition:
    """What the registry, the build, the tests and the rollout need to know about one stack.

    ``scope`` says where the stack goes: ``stackset`` (one StackSet, an instance per environment),
    ``account`` (deployed by hand once in every target account: the StackSet execution role) or
    ``administrator`` (deployed by hand once in the administrator account).
    """

    name: str
    description: str
    build: Callable[[Template], None]
    inputs: Sequence[Input] = ()
    depends_on: Sequence[str] = ()
    scope: str = "stackset"
    config_key: str | None = None
    config_model: type[BaseModel] | None = None
    # Cross-environment rules (e.g. CIDRs must not overlap); raise InputError.
    validate_project: Callable[[Project], None] | None = None
    # Valid but worth saying: one line per finding ("<file>: <key> ..."), printed by the build as warnings.
    warnings: Callable[[Project], list[str]] | None = None
    capabilities: Sequence[str] = ("CAPABILITY_NAMED_IAM",)
    # The project-dependent part of the template, if any (None: the template depends on no project).
    extend: Callable[[Project], Extension | None] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    ALL_SCOPES: ClassVar[tuple[str, ...]] = ("stackset", "account", "administrator")

    def template(self) -> Template:
        template = Template(Description=f"herd-cfn {self.name} stack: {self.description}")
        template.set_version("2010-09-09")
        for item in self.inputs:
            template.add_parameter(item.parameter())
        if self.inputs:
            template.set_metadata(
                {
                    "AWS::CloudFormation::Interface": {
                        "ParameterGroups": [
                            {"Label": {"default": self.name}, "Parameters": [i.name for i in self.inputs]}
                        ]
                    }
                }
            )
        self.build(template)
        if self.scope == "stackset":
            # Every role a StackSet stack creates carries the permissions boundary, whoever added it.
            bound_every_role(template)
        return template

    def for_project(self, project: Project) -> StackDefinition:
        """This stack as the project's parameters files shape it: the one template of every environment.

        The stack itself when it has nothing project-dependent; the build, the checks and the picture
        all go through here so that what is written to output/ is what is measured and linted."""
        extension = self.extend(project) if self.extend else None
        if extension is None:
            return self
        known = self._cache.setdefault("projects", {})
        if extension.key not in known:
            own_build = self.build

            def build(t: Template) -> None:
                own_build(t)
                extension.build(t)

            known[extension.key] = replace(self, inputs=(*self.inputs, *extension.inputs), build=build,
                                           extend=None, _cache={})
        return known[extension.key]

    def template_dict(self) -> dict[str, Any]:
        """The template as plain JSON data, cached: templates do not depend on the environment."""
        if "dict" not in self._cache:
            self._cache["dict"] = json.loads(json.dumps(self.template().to_dict()))
        return self._cache["dict"]

    def template_body(self) -> str:
        """The rendered YAML, cached."""
        if "yaml" not in self._cache:
            self._cache["yaml"] = render_yaml(self.template_dict())
        return self._cache["yaml"]

    def parameter_values(self, source: Environment | Project) -> dict[str, str]:
        """Each input's value for an environment (a Project for the administrator scope)."""
        return {item.name: parameter_string(item.value(source)) for item in self.inputs}

    def tags(self, environment_name: str) -> dict[str, str]:
        return {
            "herd:project": names.PROJECT,
            "herd:environment": environment_name,
            "herd:stack": self.name,
        }


def optional_pattern(pattern: str) -> str:
    """AllowedPattern of a parameter that is either empty (the setting is off) or matches ``pattern``."""
    return f"^$|^{pattern}$"


def optional_input(name: str, description: str, value: Callable[[Environment], str | None], pattern: str,
                   constraint: str | None = None) -> Input:
    """The parameter of a setting that may be absent: empty (off, the default) or matching ``pattern``."""
    return Input(name, description, lambda env: value(env) or "", default="",
                 allowed_pattern=optional_pattern(pattern), constraint=constraint)
