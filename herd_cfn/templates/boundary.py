"""The permissions boundary every IAM role of the StackSet stacks carries, put on in one place.

The bootstrap stack of each environment's account creates the boundary, a customer managed policy named
``names.PERMISSIONS_BOUNDARY_NAME`` (herd_cfn/templates/stacks/bootstrap/boundary_policy.py), and the
StackSet execution role may create or change a role only when the role carries it. So that no stack
module has to remember it, :func:`bound_every_role` runs on every stackset-scope template after the
stack's own build (``StackDefinition.template``): a role added anywhere, by any stack, gets the boundary.

The boundary lives in the same account as the roles, so its ARN is built from ``AWS::AccountId``.
Why a boundary: IAM's "Permissions boundaries for IAM entities", the delegation example
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
"""

from __future__ import annotations

from troposphere import Sub, Template

from herd_cfn import names

ROLE_TYPE = "AWS::IAM::Role"
BOUNDARY_ARN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/" + names.PERMISSIONS_BOUNDARY_NAME


def boundary_arn() -> Sub:
    """The boundary's ARN in the account the template is deployed to."""
    return Sub(BOUNDARY_ARN)


def bound_every_role(template: Template) -> None:
    """Set the boundary on every ``AWS::IAM::Role`` of ``template``; a role may not bring its own."""
    for logical_id, resource in template.resources.items():
        if resource.resource_type != ROLE_TYPE:
            continue
        if "PermissionsBoundary" in resource.properties:
            raise ValueError(f"role {logical_id} sets its own PermissionsBoundary; every role of a StackSet "
                             f"stack carries {names.PERMISSIONS_BOUNDARY_NAME} (herd_cfn/templates/boundary.py)")
        resource.PermissionsBoundary = boundary_arn()
