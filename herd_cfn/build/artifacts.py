"""What the build wrote into output/, read back for a deployment, and the refusal to deploy stale files.

Deployments read output/ (the reviewed, committed files), never the code directly; so before any
change they make sure output/ is exactly what the code builds, the same comparison as
``build_templates.py --check``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from herd_cfn.build import render
from herd_cfn.config.environments import Project
from herd_cfn.errors import InputError
from herd_cfn.templates import registry
from herd_cfn.templates.base import StackDefinition

# CloudFormation's limit for a TemplateBody sent inline; larger templates must come from S3.
MAX_TEMPLATE_BODY_BYTES = 51_200


@dataclass(frozen=True)
class BuiltStack:
    """One stack's template and one target's parameter values, as written to output/."""

    stack: StackDefinition
    template_body: str
    parameters: dict[str, str]  # in file order
    template_file: Path
    parameters_file: Path

    @property
    def template_bytes(self) -> int:
        return len(self.template_body.encode("utf-8"))

    def parameter_list(self) -> list[dict[str, str]]:
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()]


def ensure_fresh(project: Project, output_dir: Path) -> None:
    """Refuse when any file in output/ is missing or differs from what the code builds."""
    artifacts = render.render(project, list(registry.all_stacks()))
    stale = render.stale(artifacts, output_dir)
    if not stale:
        return
    missing = [p for p in stale if not p.is_file()]
    first = (missing or stale)[0]
    what = "is missing" if missing else "differs from what the code builds"
    more = f" (and {len(stale) - 1} more file{'s' if len(stale) > 2 else ''})" if len(stale) > 1 else ""
    raise InputError(str(first), None,
                     f"{what}{more}: output/ is stale; run `python build_templates.py` (review and commit the "
                     "result) before deploying")


def template_file(output_dir: Path, stack: StackDefinition) -> Path:
    return output_dir / render.template_path(stack.name)


def parameters_file(output_dir: Path, stack: StackDefinition, target: str) -> Path:
    """``target`` is an environment name, or ``administrator`` for the administrator-scoped stack."""
    return output_dir / render.parameters_path(stack.name, target)


def _read(path: Path) -> str:
    if not path.is_file():
        raise InputError(str(path), None, "file not found; run `python build_templates.py`")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(str(path), None, "not UTF-8 text; rebuild output/ with `python build_templates.py`") from None


def read_parameters(path: Path) -> dict[str, str]:
    try:
        items = json.loads(_read(path))
        return {item["ParameterKey"]: item["ParameterValue"] for item in items}
    except (json.JSONDecodeError, TypeError, KeyError):
        raise InputError(str(path), None, 'not a [{"ParameterKey", "ParameterValue"}] list; rebuild output/') from None


def load(output_dir: Path, stack: StackDefinition, target: str) -> BuiltStack:
    template = template_file(output_dir, stack)
    parameters = parameters_file(output_dir, stack, target)
    return BuiltStack(stack, _read(template), read_parameters(parameters), template, parameters)


def target_for(stack: StackDefinition, environment: str) -> str:
    return render.ADMINISTRATOR_DIR if stack.scope == "administrator" else environment
