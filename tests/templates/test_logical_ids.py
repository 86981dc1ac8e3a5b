"""Logical IDs are API: a renamed or dropped logical ID makes CloudFormation replace or delete a
real resource (a VPC, a file system). The recorded list in tests/data/logical_ids.json may only grow.

After adding resources, record them:  python -m tests.templates.test_logical_ids
Dropping one on purpose: add it to DROPPED below with the reason, in the same commit; the record
keeps only what the templates still have.
"""

from __future__ import annotations

import json

from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from tests.conftest import ROOT

RECORD = ROOT / "tests" / "data" / "logical_ids.json"

# Removed on purpose, per stack: logical ID -> why (and what it leaves in AWS). A dropped ID may not
# come back under the same name: CloudFormation would create a second resource next to the retained one.
_MOVED_TO_TRAFFIC = ("moved to the traffic stack, same logical id, in 2026-12 before any account ran it; on an "
                     "account that had it, delete the old function and its retained log group first (the names are "
                     "fixed), or the traffic stack's create fails")
DROPPED: dict[str, dict[str, str]] = {
    names.SERVICE: dict.fromkeys((
        names.Traffic.RECONCILE_ROLE, names.Traffic.RECONCILE_LOG_GROUP, names.Traffic.RECONCILE_FUNCTION,
        names.Traffic.RECONCILE_TASK_RULE, names.Traffic.RECONCILE_SCHEDULE_RULE,
        names.Traffic.RECONCILE_TASK_PERMISSION, names.Traffic.RECONCILE_SCHEDULE_PERMISSION), _MOVED_TO_TRAFFIC),
    names.PIPELINE: dict.fromkeys((
        names.Traffic.HOOK_LOG_GROUP, names.Traffic.HOOK_ROLE, names.Traffic.HOOK_SECURITY_GROUP,
        names.Traffic.HOOK_TO_ALB_INGRESS, names.Traffic.HOOK_FUNCTION), _MOVED_TO_TRAFFIC),
    names.DATA: {
        names.Data.KEYCLOAK_SECRET: "herd/keycloak-admin was never read (Keycloak's admin password is the OpenRemote "
                                    "admin secret, as OpenRemote requires); its Retain policy keeps the secret in AWS "
                                    "until it is deleted by hand (docs/teardown.md)",
    },
}


def current() -> dict[str, list[str]]:
    return {
        stack.name: sorted(load_yaml(stack.template_body())["Resources"])
        for stack in registry.all_stacks()
    }


def test_no_recorded_logical_id_disappears():
    recorded = json.loads(RECORD.read_text())
    now = current()
    missing = {stack: sorted(set(ids) - set(now.get(stack, [])) - set(DROPPED.get(stack, {})))
               for stack, ids in recorded.items()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f"logical IDs gone (CloudFormation would replace/delete these resources): {missing}"


def test_every_logical_id_is_recorded():
    recorded = json.loads(RECORD.read_text())
    unrecorded = {s: sorted(set(ids) - set(recorded.get(s, []))) for s, ids in current().items()}
    unrecorded = {k: v for k, v in unrecorded.items() if v}
    assert not unrecorded, f"record new logical IDs with `python -m tests.templates.test_logical_ids`: {unrecorded}"


def test_dropped_logical_ids_are_gone_and_not_recorded():
    recorded, now = json.loads(RECORD.read_text()), current()
    for stack, dropped in DROPPED.items():
        assert all(reason for reason in dropped.values())
        assert not set(dropped) & set(now[stack]), f"{stack}: a dropped logical ID is back"
        assert not set(dropped) & set(recorded.get(stack, [])), f"{stack}: remove the dropped IDs from {RECORD.name}"


def test_logical_ids_come_from_the_names_module():
    """Every resource's logical ID is spelled in herd_cfn/names.py, not inline in a stack module."""
    source = (ROOT / "herd_cfn" / "names.py").read_text()
    for stack, ids in current().items():
        for logical_id in ids:
            assert f'"{logical_id}"' in source or _generated(logical_id, source), (stack, logical_id)


def _generated(logical_id: str, source: str) -> bool:
    # Per-AZ names come from f-strings in names.py, e.g. f"PrivateSubnet{az}".
    return any(
        f'f"{logical_id[:i]}{{az}}{logical_id[i + 1:]}"' in source
        for i, letter in enumerate(logical_id) if letter in "ABC"
    )


if __name__ == "__main__":
    merged = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    for stack, ids in current().items():
        merged[stack] = sorted((set(merged.get(stack, [])) | set(ids)) - set(DROPPED.get(stack, {})))
    RECORD.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print(f"recorded {sum(map(len, merged.values()))} logical IDs in {RECORD}")
