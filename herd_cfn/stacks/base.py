"""The small interface every stack answers (Copilot-style) and its typed inputs (stacker-style).

A stack declares its CloudFormation parameters as :class:`Input` objects: type, description,
constraints and how the value is taken from an environment's parameters file. The same declaration
produces the template's ``Parameters`` section and the per-environment parameter values, so the
two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from troposphere import Parameter, Template

from herd_cfn import names

if TYPE_CHECKING:
    from pydantic import BaseModel

    from herd_cfn.environments import Environment, Project


@dataclass(frozen=True)
class Input:
    """One CloudFormation parameter and where its value comes from."""

    name: str
    description: str
    value: Callable[[Environment], Any]
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
    # For the administrator scope: values from the project file instead of an environment.
    project_values: Callable[[Project], Mapping[str, Any]] | None = None
    capabilities: Sequence[str] = ("CAPABILITY_NAMED_IAM",)
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
        return template

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

    def parameter_values(self, environment: Environment) -> dict[str, str]:
        return {item.name: parameter_string(item.value(environment)) for item in self.inputs}

    def tags(self, environment_name: str) -> dict[str, str]:
        return {
            "herd:project": names.PROJECT,
            "herd:environment": environment_name,
            "herd:stack": self.name,
        }


_SECTION_ORDER = (
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions",
    "Transform", "Resources", "Outputs",
)
_RESOURCE_KEY_ORDER = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Metadata",
                       "Properties")


@lru_cache(maxsize=1)
def _dumper() -> type:
    """cfn-flip's representers (short intrinsic forms like !Ref, its string styles) on libyaml's C
    emitter: three times faster than cfn-flip's pure-Python dumper, and sequences are not indented
    under their key, which keeps the templates smaller."""
    import yaml
    from cfn_flip import yaml_dumper

    class Dumper(yaml.CSafeDumper):
        pass

    Dumper.yaml_representers = dict(yaml_dumper.Dumper.yaml_representers)
    Dumper.yaml_multi_representers = dict(yaml_dumper.Dumper.yaml_multi_representers)
    return Dumper


def render_yaml(data: dict[str, Any]) -> str:
    """YAML in the order people read CloudFormation (sections, then Type before Properties).

    Deterministic: section and resource-attribute order is fixed here, everything else keeps the order
    the stack module added it in.
    """
    import yaml
    from cfn_tools._config import config
    from cfn_tools.odict import ODict

    ordered = {key: data[key] for key in _SECTION_ORDER if key in data}
    unknown = set(data) - set(ordered)
    if unknown:  # pragma: no cover - a new template section would need a place in the order
        raise ValueError(f"unordered template sections: {sorted(unknown)}")
    resources = {}
    for name, resource in ordered.get("Resources", {}).items():
        first = {k: resource[k] for k in _RESOURCE_KEY_ORDER if k in resource}
        rest = {k: v for k, v in resource.items() if k not in first}
        resources[name] = {**first, **rest}
    if resources:
        ordered["Resources"] = resources
    # ODict is what cfn-flip's representers turn into short forms (!Ref, !Sub…).
    tree = json.loads(json.dumps(ordered), object_pairs_hook=ODict)
    return yaml.dump(tree, Dumper=_dumper(), default_flow_style=False, allow_unicode=True,
                     width=config.max_col_width)


def optional_pattern(pattern: str) -> str:
    """AllowedPattern of a parameter that is either empty (the setting is off) or matches ``pattern``."""
    return f"^$|^{pattern}$"


def optional_input(name: str, description: str, value: Callable[[Environment], str | None], pattern: str,
                   constraint: str | None = None) -> Input:
    """The parameter of a setting that may be absent: empty (off, the default) or matching ``pattern``."""
    return Input(name, description, lambda env: value(env) or "", default="",
                 allowed_pattern=optional_pattern(pattern), constraint=constraint)
