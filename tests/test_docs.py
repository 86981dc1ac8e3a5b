"""Figures and lists in the docs this project generates from the code: each ``<!-- generated: NAME -->``
block of docs/architecture.md is what the code says today. When this fails, update the block to the
expected text in the message (or the code, if the doc was right)."""

from __future__ import annotations

import ast
import re

import pytest

from herd_cfn.operations.local import EMULATOR_STACKS
from herd_cfn.templates import registry
from tests.conftest import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"
FIXES = ROOT / "herd_cfn" / "emulator" / "fixes"


def generated_blocks(text: str) -> dict[str, str]:
    return {m.group(1).strip(): m.group(2).strip()
            for m in re.finditer(r"<!-- generated: ([^>]*?)-->\n(.*?)<!-- end -->", text, re.S)}


def _fix_summaries() -> str:
    lines = []
    for module in sorted(FIXES.glob("*.py")):
        if module.name == "__init__.py":
            continue
        first = (ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or "").splitlines()[0]
        lines.append(f"- `{module.stem}`: {first.replace('``', '`')}")
    return "\n".join(lines)


def expected() -> dict[str, str]:
    stackset = [s.name for s in registry.stackset_stacks()]
    return {
        "stack order": " → ".join(stackset),
        "emulator fixes": _fix_summaries(),
        "emulator stacks": f"creates: {', '.join(s for s in stackset if s in EMULATOR_STACKS)}\n"
                           f"cannot create: {', '.join(s for s in stackset if s not in EMULATOR_STACKS) or 'none'}",
    }


BLOCKS = generated_blocks(ARCHITECTURE.read_text(encoding="utf-8"))


def test_every_generated_block_is_known():
    assert set(BLOCKS) == set(expected())


@pytest.mark.parametrize("name", sorted(expected()))
def test_generated_block_matches_the_code(name):
    assert BLOCKS.get(name) == expected()[name], f"docs/architecture.md, block {name!r}: expected\n{expected()[name]}"


def test_every_stack_has_a_row():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (\w[\w-]*) \|", text, re.M)) - {"stack"}
    named = {s.name for s in registry.stackset_stacks()} | {"bootstrap"}
    assert rows == named


def test_docs_link_only_to_files_that_exist():
    for doc in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


@pytest.mark.parametrize("doc", ["architecture.md", "deploy-by-hand.md"])
def test_paths_named_in_the_docs_exist(doc):
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.])((?:herd_cfn|tests|scripts|docs)/[\w./-]*[\w/])", text))
    assert named, "the pattern finds the paths"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
