"""Every string field of the parameters files carries AWS's length limit and character set (fields.Text), so
a value AWS would refuse at deploy time is refused by the build instead, naming the key and the limit."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from herd_cfn.errors import InputError
from herd_cfn.fields import Text, limits_of
from herd_cfn.templates.registry import load_project, schema
from tests.conftest import ROOT


def _is_string(annotation) -> bool:
    """A str field, directly or through Optional/Annotated; Literal choices are closed sets and need no limit."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) in (typing.Literal, dict):
        # Literal choices are closed sets; the plugin settings' maps check their names and values themselves
        # (tests/cli/test_plugin_settings.py).
        return False
    return any(_is_string(arg) for arg in typing.get_args(annotation))


def _models(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) is list


def string_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, object]]:
    found = []
    for name, info in model.model_fields.items():
        annotation = info.rebuild_annotation()
        for nested in _models(annotation):
            # A list of objects: its first element, as pydantic names it (service.manager_egress.0.cidr).
            found.extend(string_fields(nested, f"{prefix}{name}.0." if _is_list(annotation) else f"{prefix}{name}."))
        if _is_string(annotation):
            found.append((f"{prefix}{name}", annotation))
    return found


FIELDS = string_fields(schema().environment_model())


def test_the_walk_finds_the_string_fields():
    keys = {key for key, _ in FIELDS}
    assert {"domain", "service.manager_image", "pipeline.branch", "edge.admin_cidr", "network.vpc_cidr"} <= keys
    assert len(keys) >= 20


@pytest.mark.parametrize(("key", "annotation"), FIELDS, ids=[key for key, _ in FIELDS])
def test_every_string_field_has_a_length_limit_and_character_set(key, annotation):
    limits = limits_of(annotation)
    assert len(limits) == 1, f"{key}: give it exactly one herd_cfn.fields.Text (AWS's limit and character set)"
    assert limits[0].max_length > 0 and limits[0].charset and limits[0].source


# A valid first element for each list of objects, so that only the field under test is wrong.
LIST_EXAMPLES = {"manager_egress": {"protocol": "tcp", "port": 502, "cidr": "10.50.0.0/16", "description": "site"}}


def _set(data, key: str, value: str) -> None:
    *parents, last = key.split(".")
    for part, following in zip(parents, key.split(".")[1:], strict=True):
        if following == "0" and part in LIST_EXAMPLES:
            data[part] = [dict(LIST_EXAMPLES[part])]
        data = data[int(part)] if part.isdigit() else data[part]
    data[last] = value


@pytest.mark.parametrize(("key", "annotation"), FIELDS, ids=[key for key, _ in FIELDS])
def test_one_character_over_the_limit_is_refused_naming_key_and_limit(tmp_path: Path, key, annotation):
    limit: Text = limits_of(annotation)[0]
    params = tmp_path / "parameters"
    params.mkdir()
    for source in (ROOT / "parameters").glob("*.json"):
        (params / source.name).write_text(source.read_text())
    data = json.loads((params / "dev.json").read_text())
    _set(data, key, "a" * (limit.max_length + 1))
    (params / "dev.json").write_text(json.dumps(data))
    with pytest.raises(InputError) as refused:
        load_project(params)
    assert refused.value.key == key
    assert "at most" in refused.value.rule and "characters" in refused.value.rule
