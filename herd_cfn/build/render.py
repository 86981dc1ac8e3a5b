"""Render every template and every environment's parameter values into output/, atomically.

Layout (one template per stack, environment-agnostic; values per environment and stack):
    output/templates/<stack>.yaml
    output/parameters/<env>/<stack>.json           stackset and account-scoped stacks
    output/parameters/administrator/<stack>.json   administrator-scoped stacks
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from herd_cfn.build import paramcheck
from herd_cfn.config.environments import Project
from herd_cfn.errors import HerdError, InputError
from herd_cfn.templates.base import StackDefinition

ADMINISTRATOR_DIR = "administrator"


@dataclass(frozen=True)
class Artifact:
    path: Path  # relative to the output directory
    # The content, or a function that makes it (renderings are made only when they must be written).
    content: str | bytes | Callable[[], bytes]
    # For renderings (SVG, PNG): the marker of the source they were drawn from. Their bytes depend on
    # the fonts and Graphviz build of the machine, so they are current when they carry the marker of
    # today's source, not only when their bytes match.
    source_marker: bytes | None = None

    @cached_property
    def data(self) -> bytes:
        content = self.content() if callable(self.content) else self.content
        return content.encode("utf-8") if isinstance(content, str) else content

    def is_current(self, existing: bytes) -> bool:
        if self.source_marker is not None:
            return self.source_marker in existing
        return existing == self.data


PICTURE = Path("architecture")


def picture_artifacts(project: Project) -> list[Artifact]:
    """output/architecture.{dot,svg,png}: the system drawn from the templates (herd_cfn.build.diagram)."""
    from herd_cfn.build import diagram

    dot = diagram.to_dot(diagram.build_graph(project), project)
    marker = diagram.source_marker(dot)

    def rendering(fmt: str) -> Callable[[], bytes]:
        def make() -> bytes:
            try:
                return diagram.render(dot, fmt)
            except diagram.GraphvizMissing as exc:
                raise HerdError(str(exc)) from None
        return make

    return [
        Artifact(PICTURE.with_suffix(".dot"), dot),
        Artifact(PICTURE.with_suffix(".svg"), rendering("svg"), marker),
        Artifact(PICTURE.with_suffix(".png"), rendering("png"), marker),
    ]


def template_path(stack: str) -> Path:
    return Path("templates") / f"{stack}.yaml"


def parameters_path(stack: str, environment: str) -> Path:
    return Path("parameters") / environment / f"{stack}.json"


def parameters_json(values: dict[str, str]) -> str:
    """CloudFormation's ``[{"ParameterKey", "ParameterValue"}]`` form, for --parameters file:// and
    StackSet ParameterOverrides alike."""
    return json.dumps(
        [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()], indent=2
    ) + "\n"


def declared_parameters(stack: StackDefinition) -> dict:
    """The template's Parameters as CloudFormation will see them."""
    return stack.template_dict().get("Parameters", {}) or {}


def render(project: Project, stacks: list[StackDefinition], environments: list[str] | None = None
           ) -> list[Artifact]:
    """Everything the build writes for these stacks and environments, checked, in memory."""
    env_names = environments or list(project.environments)
    artifacts: list[Artifact] = []
    for stack in (s.for_project(project) for s in stacks):
        artifacts.append(Artifact(template_path(stack.name), stack.template_body()))
        declared = declared_parameters(stack)
        if stack.scope == "administrator":
            values = stack.parameter_values(project)
            paramcheck.check(declared, values, str(project.file), stack.name)
            artifacts.append(Artifact(parameters_path(stack.name, ADMINISTRATOR_DIR), parameters_json(values)))
            continue
        for name in env_names:
            env = project.environment(name)
            values = stack.parameter_values(env)
            paramcheck.check(declared, values, str(env.file), stack.name)
            artifacts.append(Artifact(parameters_path(stack.name, name), parameters_json(values)))
    return artifacts


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        # mkstemp makes the file 0600; generated files are ordinary readable files.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # e.g. a file of output/ nobody may read: one line, not a traceback
        raise InputError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None


def stale(artifacts: list[Artifact], output: Path) -> list[Path]:
    """Files whose content on disk differs from what the code builds (or that are missing)."""
    result = []
    for artifact in artifacts:
        target = output / artifact.path
        if not target.is_file() or not artifact.is_current(_read_bytes(target)):
            result.append(target)
    return result


def orphans(artifacts: list[Artifact], output: Path) -> list[Path]:
    """Generated-looking files in output/ that the code no longer builds (a removed stack or env)."""
    expected = {output / a.path for a in artifacts}
    found = [*output.glob("templates/*.yaml"), *output.glob("parameters/*/*.json")]
    return sorted(p for p in found if p not in expected)


def write(artifacts: list[Artifact], output: Path) -> list[Path]:
    """Write what changed. Everything is rendered and checked before the first file is touched, and
    each file is replaced atomically, so a failure never leaves output/ half-written."""
    changed = stale(artifacts, output)
    by_path = {output / a.path: a for a in artifacts}
    for path in changed:
        _atomic_write(path, by_path[path].data)
    return changed
