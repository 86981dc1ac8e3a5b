"""A bucket policy statement whose Condition is not met does not apply.

Gap: moto 5.2.5 passes no request context to a bucket policy's conditions and takes a condition on a key the
request does not carry as met. The pipeline stack's artifact bucket denies ``s3:*`` only when
``aws:SecureTransport`` is "false" (requests without TLS); moto denied every object request to it, so the deploy
hooks could neither read nor write their record.
AWS: the IAM User Guide, "Policy evaluation logic" (a statement takes part in the decision only when the
request matches its Action, Resource, Principal and Condition) and "IAM JSON policy elements: Condition" ("if
the key that you specify in a policy condition is not present in the request context, the values do not match
and the condition is false"; an operator ending in ``IfExists`` and ``Null: true`` hold for an absent key). Here
a statement with a Condition that does not hold for a request without context keys is left out; the others are
evaluated by moto as before.
What stays the emulator's: requests carry no context keys (the emulator speaks plain HTTP on 127.0.0.1, so
``aws:SecureTransport`` is neither true nor false here); a statement that needs a key's value never applies.
"""

from __future__ import annotations

import json
from typing import Any


def holds_without_context(condition: dict[str, Any]) -> bool:
    """Whether a Condition block holds for a request that carries no context keys."""
    for operator, keys in condition.items():
        if operator.endswith("IfExists"):
            continue
        if operator == "Null" and all(str(v).lower() == "true" for v in keys.values()):
            continue
        return False
    return True


def applicable(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy without the statements whose Condition does not hold for a request without context keys."""
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    kept = [s for s in statements if holds_without_context(s.get("Condition") or {})]
    return {**policy, "Statement": kept}


def install() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_herd_conditions", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = applicable(json.loads(self.policy.decode()))
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    get_permission._herd_conditions = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission
