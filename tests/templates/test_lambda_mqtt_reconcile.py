"""The MQTT target reconcile function, against moto's ELBv2 for real.

What comes from where:
- ELBv2 (the NLB and its ``ip`` target group) is moto on 127.0.0.1, reached through AWS_ENDPOINT_URL
  exactly as the deployed function reaches AWS. moto differs from AWS in two ways that matter here:
  a deregistered target disappears at once (AWS keeps it "draining" for the deregistration delay, so
  the draining rule is tested on ``plan``), and moto keys targets by IP alone (AWS by IP and port).
- ECS answers come from botocore's Stubber: moto's ECS starts no tasks for a service and its run_task
  with awsvpc networking crashes, so task IPs cannot come from moto. The stubs also assert the exact
  ECS requests the function sends.
- CodeDeploy's PutLifecycleEventHookExecutionStatus is not implemented by moto: Stubber again, which
  asserts the status and ids that AWS would receive. In AWS, that call ends the hook; without it the
  deployment waits for the hook's one-hour timeout and then fails.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from herd_cfn.templates.lambdas import mqtt_reconcile

CLUSTER, SERVICE = "herd-dev", "manager"
SERVICE_ARN = f"arn:aws:ecs:eu-west-1:123456789012:service/{CLUSTER}/{SERVICE}"
BLUE, GREEN = "ecs-svc/1111111111111111111", "ecs-svc/2222222222222222222"
HOOK_EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "hook-exec-42"}
TASK_STATE_CHANGE = {
    "source": "aws.ecs",
    "detail-type": "ECS Task State Change",
    "detail": {"group": f"service:{SERVICE}", "lastStatus": "STOPPED", "clusterArn": "ignored"},
}
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def target_group(aws, monkeypatch):
    """An NLB with an ``ip`` target group on 1883 in moto, and the function's environment pointing at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"eu-west-1{az}")["Subnet"]
        for n, az in ((1, "a"), (2, "b"))
    ]
    subnets = [s["SubnetId"] for s in subnets]
    nlb = elbv2.create_load_balancer(Name="herd-nlb", Type="network", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="herd-mqtt", Protocol="TCP", Port=1883, VpcId=vpc, TargetType="ip")
    group_arn = group["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TCP", Port=8883,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}],
    )
    for name, value in {"CLUSTER_NAME": CLUSTER, "SERVICE_NAME": SERVICE, "TARGET_GROUP_ARN": group_arn}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TARGET_PORT", raising=False)
    return group_arn


def targets(group_arn):
    found = boto3.client("elbv2").describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return sorted((d["Target"]["Id"], d["Target"]["Port"]) for d in found)


def task(ip, started_by, status="RUNNING", task_definition=None):
    return {
        "taskArn": f"arn:aws:ecs:eu-west-1:123456789012:task/{CLUSTER}/{ip.replace('.', '')}",
        "lastStatus": status,
        "startedBy": started_by,
        "taskDefinitionArn": task_definition or "arn:aws:ecs:eu-west-1:123456789012:task-definition/herd-manager:1",
        "attachments": [{
            "type": "ElasticNetworkInterface",
            "details": [{"name": "subnetId", "value": "subnet-1"}, {"name": "privateIPv4Address", "value": ip}],
        }],
    }


def ecs_stub(task_sets, tasks, task_definitions=None):
    """An ECS client whose answers describe a service with these task sets ({id: status}) and tasks
    (task_definitions: {task set id: its task definition ARN})."""
    ecs = boto3.client("ecs", endpoint_url="http://127.0.0.1:9")  # never reached: Stubber answers
    stub = Stubber(ecs)
    service = {"serviceArn": SERVICE_ARN, "serviceName": SERVICE}
    if task_sets:
        service["taskSets"] = [{"id": i, "status": s, **({"taskDefinition": task_definitions[i]}
                                                          if task_definitions and i in task_definitions else {})}
                               for i, s in task_sets.items()]
    stub.add_response("describe_services", {"services": [service]}, {"cluster": CLUSTER, "services": [SERVICE]})
    arns = [t["taskArn"] for t in tasks]
    stub.add_response(
        "list_tasks", {"taskArns": arns}, {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "RUNNING"}
    )
    if arns:
        stub.add_response("describe_tasks", {"tasks": tasks}, {"cluster": CLUSTER, "tasks": arns})
    stub.activate()
    return ecs, stub


def codedeploy_stub(status=None):
    codedeploy = boto3.client("codedeploy", endpoint_url="http://127.0.0.1:9")
    stub = Stubber(codedeploy)
    if status:
        stub.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": HOOK_EVENT["LifecycleEventHookExecutionId"]},
            {
                "deploymentId": HOOK_EVENT["DeploymentId"],
                "lifecycleEventHookExecutionId": HOOK_EVENT["LifecycleEventHookExecutionId"],
                "status": status,
            },
        )
    stub.activate()
    return codedeploy, stub


class Calls:
    """Records the ELBv2 operations a client sends (botocore's public event hooks)."""

    def __init__(self, client):
        self.names: list[str] = []
        client.meta.events.register("before-call.elastic-load-balancing-v2", self._record)

    def _record(self, model, **_):
        self.names.append(model.name)


def invoke(monkeypatch, event, ecs, codedeploy=None, elbv2=None):
    """Run the handler with the real moto-backed ELBv2 client and the given ECS/CodeDeploy clients."""
    elbv2 = elbv2 or boto3.client("elbv2", config=mqtt_reconcile.RETRY_CONFIG)
    codedeploy = codedeploy or codedeploy_stub()[0]
    monkeypatch.setattr(mqtt_reconcile, "clients", lambda: {"ecs": ecs, "elbv2": elbv2, "codedeploy": codedeploy})
    return mqtt_reconcile.handler(event, None)


# --- plan: the decision alone --------------------------------------------------------------------

def health(ip, state="healthy", port=1883):
    return {"Target": {"Id": ip, "Port": port}, "TargetHealth": {"State": state}}


def test_plan_registers_missing_and_deregisters_unwanted():
    register, deregister = mqtt_reconcile.plan({"10.0.1.5", "10.0.2.7"}, [health("10.0.2.7"), health("10.0.1.9")])
    assert register == [{"Id": "10.0.1.5", "Port": 1883}]
    assert deregister == [{"Id": "10.0.1.9", "Port": 1883}]


def test_plan_is_empty_when_already_equal():
    assert mqtt_reconcile.plan({"10.0.1.5"}, [health("10.0.1.5", "unhealthy")]) == ([], [])


def test_plan_leaves_draining_targets_alone_and_reregisters_a_wanted_one():
    current = [health("10.0.1.5", "draining"), health("10.0.1.9", "draining")]
    register, deregister = mqtt_reconcile.plan({"10.0.1.5"}, current)
    assert register == [{"Id": "10.0.1.5", "Port": 1883}]
    assert deregister == []


def test_plan_replaces_a_target_on_the_wrong_port():
    register, deregister = mqtt_reconcile.plan({"10.0.1.5"}, [health("10.0.1.5", port=8080)], port=1883)
    assert register == [{"Id": "10.0.1.5", "Port": 1883}]
    assert deregister == [{"Id": "10.0.1.5", "Port": 8080}]


def test_task_ip_falls_back_to_the_container_network_interface():
    container_only = {"containers": [{"networkInterfaces": [{"privateIpv4Address": "10.0.2.4"}]}]}
    assert mqtt_reconcile.task_ip(container_only) == "10.0.2.4"
    assert mqtt_reconcile.task_ip({"attachments": [], "containers": []}) is None


# --- reconcile against moto ---------------------------------------------------------------------

def test_a_new_primary_task_is_registered(target_group, monkeypatch, capsys):
    ecs, stub = ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])
    result = invoke(monkeypatch, TASK_STATE_CHANGE, ecs)
    stub.assert_no_pending_responses()
    assert targets(target_group) == [("10.0.1.10", 1883)]
    assert result["registered"] == [{"Id": "10.0.1.10", "Port": 1883}]
    out = capsys.readouterr().out
    assert "invoked by ECS Task State Change" in out
    assert f"register 10.0.1.10:1883 in {target_group}" in out


def test_a_stopped_task_is_deregistered(target_group, monkeypatch, capsys):
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0])
    # The task stopped: ListTasks(desiredStatus=RUNNING) no longer returns it.
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [])[0])
    assert targets(target_group) == []
    assert f"deregister 10.0.1.10:1883 from {target_group}" in capsys.readouterr().out


def test_tasks_that_are_not_yet_running_are_not_targets(target_group, monkeypatch):
    ecs, _ = ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE, status="PENDING"), task("10.0.1.11", BLUE)])
    invoke(monkeypatch, SCHEDULED, ecs)
    assert targets(target_group) == [("10.0.1.11", 1883)]


def test_blue_green_keeps_mqtt_on_the_primary_until_traffic_moves_then_swaps(target_group, monkeypatch, capsys):
    blue_task, green_task = task("10.0.1.10", BLUE), task("10.0.2.20", GREEN)
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [blue_task])[0])
    # The replacement task set exists (ACTIVE) and runs, but production traffic is still on blue.
    invoke(monkeypatch, TASK_STATE_CHANGE, ecs_stub({BLUE: "PRIMARY", GREEN: "ACTIVE"}, [blue_task, green_task])[0])
    assert targets(target_group) == [("10.0.1.10", 1883)]
    # CodeDeploy moved traffic: green is PRIMARY now, blue is still running until the termination wait ends.
    codedeploy, cd_stub = codedeploy_stub("Succeeded")
    ecs, ecs_stubber = ecs_stub({BLUE: "ACTIVE", GREEN: "PRIMARY"}, [blue_task, green_task])
    assert invoke(monkeypatch, HOOK_EVENT, ecs, codedeploy) == {"status": "Succeeded"}
    cd_stub.assert_no_pending_responses()
    ecs_stubber.assert_no_pending_responses()
    assert targets(target_group) == [("10.0.2.20", 1883)]
    out = capsys.readouterr().out
    assert "register 10.0.2.20:1883" in out and "deregister 10.0.1.10:1883" in out
    assert "report Succeeded for deployment d-ABCDEF123" in out


def test_tasks_without_the_task_set_id_are_matched_by_the_primary_task_definition(target_group, monkeypatch, capsys):
    """Should ECS put something else than the task set id in startedBy (it documents no API that lists
    a task set's tasks), the primary task set's task definition picks the tasks instead."""
    old_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/herd-manager:7"
    new_td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/herd-manager:8"
    tasks = [task("10.0.1.10", "codedeploy", task_definition=old_td),
             task("10.0.2.20", "codedeploy", task_definition=new_td)]
    ecs, stub = ecs_stub({BLUE: "ACTIVE", GREEN: "PRIMARY"}, tasks, {BLUE: old_td, GREEN: new_td})
    invoke(monkeypatch, SCHEDULED, ecs)
    stub.assert_no_pending_responses()
    assert targets(target_group) == [("10.0.2.20", 1883)]
    assert f"no task started by {GREEN}: matched by task definition {new_td}" in capsys.readouterr().out


def test_nothing_is_sent_when_targets_are_already_equal(target_group, monkeypatch, capsys):
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0])
    capsys.readouterr()
    elbv2 = boto3.client("elbv2", config=mqtt_reconcile.RETRY_CONFIG)
    calls = Calls(elbv2)
    result = invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0], elbv2=elbv2)
    assert calls.names == ["DescribeTargetHealth"]
    assert result == {"wanted": ["10.0.1.10"], "registered": [], "deregistered": []}
    assert "targets already equal to ['10.0.1.10']: nothing to do" in capsys.readouterr().out


def test_without_task_sets_every_running_task_of_the_service_counts(target_group, monkeypatch):
    # An ECS-controller service has deployments, not task sets; startedBy is then a deployment id.
    ecs, _ = ecs_stub({}, [task("10.0.1.10", "ecs-svc/3"), task("10.0.2.10", "ecs-svc/4")])
    invoke(monkeypatch, SCHEDULED, ecs)
    assert targets(target_group) == [("10.0.1.10", 1883), ("10.0.2.10", 1883)]


def test_target_port_comes_from_the_environment(target_group, monkeypatch):
    monkeypatch.setenv("TARGET_PORT", "1884")
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0])
    assert targets(target_group) == [("10.0.1.10", 1884)]


class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data


def test_a_throttled_register_call_is_retried_and_then_succeeds(target_group, monkeypatch):
    """botocore's standard retry mode at work: the first RegisterTargets answer is a 400 Throttling.

    The error is injected at botocore's before-send hook, below the retry loop, so the retry is real;
    the second attempt reaches moto. (A Stubber error would not be retried: Stubber answers above
    the retry loop.)
    """
    elbv2 = boto3.client("elbv2", config=mqtt_reconcile.RETRY_CONFIG)
    attempts = []
    throttled = (
        b'<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error>'
        b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        b"<RequestId>1</RequestId></ErrorResponse>"
    )

    def throttle_first(request, **_):
        attempts.append(request.url)
        if len(attempts) == 1:
            return AWSResponse(request.url, 400, {"Content-Type": "text/xml"}, _Body(throttled))
        return None

    elbv2.meta.events.register("before-send.elastic-load-balancing-v2.RegisterTargets", throttle_first)
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0], elbv2=elbv2)
    assert len(attempts) == 2
    assert targets(target_group) == [("10.0.1.10", 1883)]


def test_a_server_error_is_retried_too(target_group, monkeypatch):
    elbv2 = boto3.client("elbv2", config=mqtt_reconcile.RETRY_CONFIG)
    attempts = []

    def fail_twice(request, **_):
        attempts.append(1)
        return AWSResponse(request.url, 503, {}, _Body(b"")) if len(attempts) <= 2 else None

    elbv2.meta.events.register("before-send.elastic-load-balancing-v2.DescribeTargetHealth", fail_twice)
    invoke(monkeypatch, SCHEDULED, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0], elbv2=elbv2)
    assert len(attempts) == 3
    assert targets(target_group) == [("10.0.1.10", 1883)]


def test_clients_follow_aws_endpoint_url_and_retry_a_bounded_number_of_times(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    made = mqtt_reconcile.clients()
    assert {name: c.meta.endpoint_url for name, c in made.items()} == dict.fromkeys(
        ("ecs", "elbv2", "codedeploy"), "http://127.0.0.1:4566"
    )
    # 8 attempts in all; with standard mode's capped exponential backoff that is under a minute.
    assert {c.meta.config.retries["total_max_attempts"] for c in made.values()} == {8}


# --- the AfterAllowTraffic hook -----------------------------------------------------------------

def test_hook_reports_failed_when_reconcile_raises(target_group, monkeypatch, capsys):
    ecs = boto3.client("ecs", endpoint_url="http://127.0.0.1:9")
    stub = Stubber(ecs)
    stub.add_client_error("describe_services", "AccessDeniedException", "not authorized", 400)
    stub.activate()
    codedeploy, cd_stub = codedeploy_stub("Failed")
    assert invoke(monkeypatch, HOOK_EVENT, ecs, codedeploy) == {"status": "Failed"}
    cd_stub.assert_no_pending_responses()
    assert "reconcile failed" in capsys.readouterr().out


def test_hook_reports_failed_when_the_service_is_missing(target_group, monkeypatch):
    ecs = boto3.client("ecs", endpoint_url="http://127.0.0.1:9")
    stub = Stubber(ecs)
    stub.add_response("describe_services", {"services": [], "failures": [{"reason": "MISSING"}]})
    stub.activate()
    codedeploy, cd_stub = codedeploy_stub("Failed")
    assert invoke(monkeypatch, HOOK_EVENT, ecs, codedeploy) == {"status": "Failed"}
    cd_stub.assert_no_pending_responses()


def test_hook_reports_failed_when_no_primary_task_runs(target_group, monkeypatch, capsys):
    codedeploy, cd_stub = codedeploy_stub("Failed")
    ecs, _ = ecs_stub({GREEN: "PRIMARY", BLUE: "ACTIVE"}, [task("10.0.1.10", BLUE)])
    assert invoke(monkeypatch, HOOK_EVENT, ecs, codedeploy) == {"status": "Failed"}
    cd_stub.assert_no_pending_responses()
    assert "no running primary task to point MQTT at" in capsys.readouterr().out


def test_events_without_hook_ids_never_call_codedeploy(target_group, monkeypatch):
    codedeploy, cd_stub = codedeploy_stub()  # no response queued: any call would raise
    for event in (TASK_STATE_CHANGE, SCHEDULED, {}):
        invoke(monkeypatch, event, ecs_stub({BLUE: "PRIMARY"}, [task("10.0.1.10", BLUE)])[0], codedeploy)
    cd_stub.assert_no_pending_responses()
    assert targets(target_group) == [("10.0.1.10", 1883)]


# --- following the production listener (issue 12): the hook may run before the replacement is PRIMARY --

@pytest.fixture
def production_listener(target_group, monkeypatch):
    """An ALB with the manager's blue and green target groups behind its production listener, in moto, as
    CodeDeploy leaves it (the live group at weight 100, the other at 0); LISTENER_ARN names it."""
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{n}.0/24", AvailabilityZone=f"eu-west-1{az}")[
        "Subnet"]["SubnetId"] for n, az in ((1, "a"), (2, "b"))]
    alb = elbv2.create_load_balancer(Name="herd-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {colour: elbv2.create_target_group(Name=f"herd-{colour}", Protocol="HTTP", Port=8080, VpcId=vpc,
                                                TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
              for colour in ("blue", "green")}
    listener = elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=443,
                                     DefaultActions=weighted(groups, live="blue"))["Listeners"][0]["ListenerArn"]
    monkeypatch.setenv("LISTENER_ARN", listener)

    def shift(live: str) -> None:
        elbv2.modify_listener(ListenerArn=listener, DefaultActions=weighted(groups, live))

    return groups, shift


def weighted(groups, live):
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": arn, "Weight": 100 if colour == live else 0} for colour, arn in groups.items()]}}]


def ecs_task_sets_stub(task_sets, tasks):
    """ECS answers for task sets {id: (status, target group)} with their load balancers, as ECS lists them."""
    ecs = boto3.client("ecs", endpoint_url="http://127.0.0.1:9")
    stub = Stubber(ecs)
    service = {"serviceArn": SERVICE_ARN, "serviceName": SERVICE, "taskSets": [
        {"id": i, "status": status, "loadBalancers": [
            {"targetGroupArn": group, "containerName": "manager", "containerPort": 8080}]}
        for i, (status, group) in task_sets.items()]}
    stub.add_response("describe_services", {"services": [service]}, {"cluster": CLUSTER, "services": [SERVICE]})
    arns = [t["taskArn"] for t in tasks]
    stub.add_response("list_tasks", {"taskArns": arns},
                      {"cluster": CLUSTER, "serviceName": SERVICE, "desiredStatus": "RUNNING"})
    stub.add_response("describe_tasks", {"tasks": tasks}, {"cluster": CLUSTER, "tasks": arns})
    stub.activate()
    return ecs, stub


def test_after_allow_traffic_before_the_replacement_is_primary_mqtt_follows_the_listener(
        target_group, production_listener, monkeypatch, capsys):
    groups, shift = production_listener
    blue_task, green_task = task("10.0.1.10", BLUE), task("10.0.2.20", GREEN)
    # Test traffic on green, production still on blue: MQTT stays on the original task.
    ecs, _ = ecs_task_sets_stub({BLUE: ("PRIMARY", groups["blue"]), GREEN: ("ACTIVE", groups["green"])},
                                [blue_task, green_task])
    invoke(monkeypatch, TASK_STATE_CHANGE, ecs)
    assert targets(target_group) == [("10.0.1.10", 1883)]
    # AllowTraffic moved the production listener; ECS still reports the original set as PRIMARY when the
    # AfterAllowTraffic hook runs. The NLB must follow the listener now, not at the next schedule.
    shift("green")
    codedeploy, cd_stub = codedeploy_stub("Succeeded")
    ecs, ecs_stubber = ecs_task_sets_stub({BLUE: ("PRIMARY", groups["blue"]), GREEN: ("ACTIVE", groups["green"])},
                                          [blue_task, green_task])
    assert invoke(monkeypatch, HOOK_EVENT, ecs, codedeploy) == {"status": "Succeeded"}
    cd_stub.assert_no_pending_responses()
    ecs_stubber.assert_no_pending_responses()
    assert targets(target_group) == [("10.0.2.20", 1883)]
    assert f"primary task set {GREEN}" in capsys.readouterr().out


def test_a_rollback_that_moves_the_listener_back_moves_mqtt_back(target_group, production_listener, monkeypatch):
    groups, shift = production_listener
    blue_task, green_task = task("10.0.1.10", BLUE), task("10.0.2.20", GREEN)
    shift("green")
    invoke(monkeypatch, SCHEDULED, ecs_task_sets_stub(
        {BLUE: ("ACTIVE", groups["blue"]), GREEN: ("PRIMARY", groups["green"])}, [blue_task, green_task])[0])
    assert targets(target_group) == [("10.0.2.20", 1883)]
    shift("blue")  # CodeDeploy's rollback reroutes production traffic to the original task set first
    invoke(monkeypatch, SCHEDULED, ecs_task_sets_stub(
        {BLUE: ("ACTIVE", groups["blue"]), GREEN: ("PRIMARY", groups["green"])}, [blue_task, green_task])[0])
    assert targets(target_group) == [("10.0.1.10", 1883)]


def test_a_listener_on_a_group_no_task_set_has_falls_back_to_primary(target_group, production_listener, monkeypatch):
    del production_listener  # the listener forwards to groups neither task set names
    blue_task, green_task = task("10.0.1.10", BLUE), task("10.0.2.20", GREEN)
    invoke(monkeypatch, SCHEDULED, ecs_task_sets_stub(
        {BLUE: ("ACTIVE", "arn:other-1"), GREEN: ("PRIMARY", "arn:other-2")}, [blue_task, green_task])[0])
    assert targets(target_group) == [("10.0.2.20", 1883)]
