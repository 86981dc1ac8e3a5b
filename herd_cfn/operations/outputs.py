"""What the deployed stacks of one account export: the values commands need (cluster, file system,
listeners…) are read from CloudFormation exports named by herd_cfn.names, never from stack names, so a
StackSet instance and a stack deployed with ``herd-cfn deploy`` answer the same."""

from __future__ import annotations

from typing import Any


def exports(cfn: Any) -> dict[str, str]:
    """Every export of the client's account and region, name -> value (all pages)."""
    pages = cfn.get_paginator("list_exports").paginate()
    return {export["Name"]: export["Value"] for page in pages for export in page.get("Exports", [])}

