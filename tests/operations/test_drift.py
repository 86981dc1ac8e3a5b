"""herd-cfn status --drift against Stubbers (moto has no drift detection; AWS's answers are shaped as the
CloudFormation API reference documents them)."""

from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from herd_cfn import names
from herd_cfn.errors import DeploymentError
from herd_cfn.operations.drift import DriftCheck, _is_expected
from herd_cfn.operations.progress import Progress
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from tests.conftest import ROOT
from tests.rollout_support import StubContext, stub_client

PROJECT = load_project(ROOT / "parameters")
DEV = PROJECT.environment("dev")
E, S = names.Edge, names.Service


def _instances(stack: str) -> dict:
    return {"Summaries": [{"Account": DEV.account_id, "Region": DEV.region,
                           "StackId": f"arn:aws:cloudformation:{DEV.region}:{DEV.account_id}:stack/StackSet-{stack}/1",
                           "Status": "CURRENT"}]}


def _drift(logical_id: str, resource_type: str, *paths: str) -> dict:
    return {"StackId": "x", "LogicalResourceId": logical_id, "ResourceType": resource_type,
            "StackResourceDriftStatus": "MODIFIED", "Timestamp": "2026-12-02T00:00:00Z",
            "PropertyDifferences": [{"PropertyPath": p, "ExpectedValue": "blue", "ActualValue": "green",
                                     "DifferenceType": "NOT_EQUAL"} for p in paths]}


def _check(drifts_by_stack: dict[str, list[dict]], operation_status: str = "SUCCEEDED"):
    cfn = stub_client("cloudformation")
    stub = Stubber(cfn)
    for stack in registry.stackset_stacks():
        name = names.stackset_name(stack.name)
        stub.add_response("list_stack_instances", _instances(name), {"StackSetName": name})
        stub.add_response("detect_stack_set_drift", {"OperationId": f"op-{stack.name}"}, {"StackSetName": name})
        stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "RUNNING"}},
                          {"StackSetName": name, "OperationId": f"op-{stack.name}"})
        stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": operation_status}},
                          {"StackSetName": name, "OperationId": f"op-{stack.name}"})
        if operation_status != "SUCCEEDED":
            break
        stub.add_response("describe_stack_resource_drifts",
                          {"StackResourceDrifts": drifts_by_stack.get(stack.name, [])},
                          {"StackName": ANY, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]})
    ctx = StubContext({"cloudformation": cfn})
    ctx.sleep = lambda _: None
    lines: list[str] = []
    progress = Progress(None)
    progress.log = lines.append  # type: ignore[method-assign]
    return DriftCheck(ctx, PROJECT, progress), stub, lines


def test_codedeploys_changes_are_expected_and_a_hand_change_is_drift():
    check, stub, _ = _check({
        names.EDGE: [_drift(E.HTTPS_LISTENER, "AWS::ElasticLoadBalancingV2::Listener",
                            "/DefaultActions/0/TargetGroupArn")],
        names.DATA: [_drift(names.Data.FILE_SYSTEM, "AWS::EFS::FileSystem", "/ThroughputMode")],
    })
    with stub:
        drifts = check.run([DEV])
    by_id = {d.logical_id: d for d in drifts}
    assert by_id[E.HTTPS_LISTENER].expected
    assert not by_id[names.Data.FILE_SYSTEM].expected
    assert "/ThroughputMode NOT_EQUAL: expected blue actual green" in by_id[names.Data.FILE_SYSTEM].line()
    assert by_id[names.Data.FILE_SYSTEM].line().startswith("DRIFT")


def test_a_failed_detection_is_an_error():
    check, stub, _ = _check({}, operation_status="FAILED")
    with stub, pytest.raises(DeploymentError, match="drift detection of StackSet herd-network FAILED"):
        check.run([DEV])


@pytest.mark.parametrize("stack, logical_id, paths, expected", [
    (names.EDGE, E.TEST_LISTENER, ["/DefaultActions/0/ForwardConfig"], True),
    (names.SERVICE, S.MANAGER_SERVICE, ["/TaskDefinition"], True),
    (names.SERVICE, S.MANAGER_SERVICE, ["/TaskDefinition", "/NetworkConfiguration/AwsvpcConfiguration"], False),
    (names.EDGE, E.HTTPS_LISTENER, ["/Certificates/0"], False),
    (names.SERVICE, S.MANAGER_SERVICE, [], False),  # deleted by hand: no property paths
    (names.SERVICE, S.KEYCLOAK_SERVICE, ["/TaskDefinition"], True),  # the pipeline's ECS action
    (names.SERVICE, S.KEYCLOAK_SERVICE, ["/DesiredCount"], False),
])
def test_what_counts_as_codedeploys_doing(stack, logical_id, paths, expected):
    assert _is_expected(stack, logical_id, paths) is expected
