"""Templates as YAML in the order people read CloudFormation, byte for byte the same on every run."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

# cfn-flip's line width (its default): long strings fold the same way cfn-flip itself writes them.
MAX_LINE_WIDTH = 200

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
                     width=MAX_LINE_WIDTH)
