"""The runbook on a running emulator: ``herd-cfn local start`` (a real background process, started once for
this module), then every step with ``--local`` in order, state lasting between commands, then
``herd-cfn local stop``.

What the emulator does where AWS would take time or a person: StackSet operations finish at once; the
data stack's backup plan counts as having run once (one recovery point of the file system per rule);
a restore job completes at once and copies nothing; a task started by RunTask is recorded (overrides,
network interface with an address of its subnet) and reported STOPPED with exit code 0 without running
a container; GitHub connections stay PENDING (docs/local.md).

The tests are the runbook's steps in order and share the emulator's state: run the module in one
process (scripts/test.sh does; with pytest-xdist, ``--dist loadscope``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from herd_cfn import cli, names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.emulator.server import free_port
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations import local
from herd_cfn.operations.restore import MOVE_SCRIPT, STARTED_BY
from herd_cfn.operations.template_source import normalise
from tests.rollout_support import ADMIN, DEV, PROD, REGION, ROOT

ACCOUNTS = {"dev": DEV, "prod": PROD}
STACKS = local.EMULATOR_STACKS
D, S = names.Data, names.Service


def _herd(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``herd-cfn ARGS`` as a user runs it: its own process."""
    env = {**os.environ, **env,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "herd_cfn", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """One emulator for the module, started and stopped with the commands a user types; its state file."""
    state = tmp_path_factory.mktemp("local") / ".herd-local.json"
    env = {local.STATE_FILE_VARIABLE: str(state)}
    port = free_port()
    done = _herd("local", "start", "--port", str(port), env=env)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().splitlines()[-1] == f"http://127.0.0.1:{port}"
        yield state
    finally:
        if state.exists():  # a test failed before test_local_stop_ends_it
            _herd("local", "stop", env=env)


@pytest.fixture
def emulator(started, monkeypatch):
    """The running emulator, for this test only: other modules' tests (xdist may run them in between) see
    none."""
    monkeypatch.setenv(local.STATE_FILE_VARIABLE, str(started))
    return json.loads(started.read_text())


def _client(url: str, account: str, service: str):
    ctx = local._context(url)
    return ctx.client(ctx.session(account, REGION), service)


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def _instance_stack(url: str, stack: str, account: str) -> dict:
    admin = _client(url, ADMIN, "cloudformation")
    summary = next(s for s in admin.list_stack_instances(StackSetName=names.stackset_name(stack))["Summaries"]
                   if s["Account"] == account)
    return _client(url, account, "cloudformation").describe_stacks(StackName=summary["StackId"])["Stacks"][0]


def _operations(url: str) -> int:
    admin = _client(url, ADMIN, "cloudformation")
    return sum(len(admin.list_stack_set_operations(StackSetName=names.stackset_name(s))["Summaries"])
               for s in STACKS)


def test_started_in_the_background_and_recorded(emulator):
    assert emulator["url"].startswith("http://127.0.0.1:")
    assert local.running() == local.Running(**emulator)


def test_a_second_start_starts_nothing(emulator, capsys):
    code, out = _run(capsys, "local", "start", "--port", str(free_port()))
    assert code == 0
    assert f"already runs on {emulator['url']} (pid {emulator['pid']})" in out
    assert local.running() == local.Running(**emulator)


def test_status_before_anything_is_deployed(emulator, capsys):
    code, out = _run(capsys, "local", "status")
    assert code == 0
    assert f"emulator running on {emulator['url']} (pid {emulator['pid']})" in out
    assert out.count("nothing deployed") == 3  # administrator, dev, prod


def test_bootstrap(emulator, capsys):
    code, out = _run(capsys, "bootstrap", "--local")
    assert code == 0, out
    assert "the running emulator on " + emulator["url"] in out
    iam = _client(emulator["url"], ADMIN, "iam")
    assert iam.get_role(RoleName=names.ADMINISTRATION_ROLE_NAME)["Role"]
    for account in ACCOUNTS.values():
        assert _client(emulator["url"], account, "iam").get_role(RoleName=names.EXECUTION_ROLE_NAME)["Role"]


def test_rollout_of_every_stack_dev_then_prod(emulator, capsys):
    code, out = _run(capsys, "rollout", "--local", "--env", "all")
    assert code == 0, out[-3000:]
    assert "bootstrapping" not in out  # the roles are there since the previous command
    # Waves: dev alone first, then prod (project.json's default).
    assert out.index(f"== wave 1: 1 account(s): dev {DEV}") < out.index(f"== wave 2: 1 account(s): prod {PROD}")
    admin = _client(emulator["url"], ADMIN, "cloudformation")
    for stack in STACKS:
        summaries = admin.list_stack_instances(StackSetName=names.stackset_name(stack))["Summaries"]
        assert {(s["Account"], s["Status"]) for s in summaries} == {(DEV, "CURRENT"), (PROD, "CURRENT")}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_unguarded_resource_type_exists_in_the_deployed_stacks(emulator, env):
    for stack in STACKS:
        template = normalise((ROOT / "output" / "templates" / f"{stack}.yaml").read_text())
        unguarded = {r["Type"] for r in template["Resources"].values() if "Condition" not in r}
        deployed = _instance_stack(emulator["url"], stack, ACCOUNTS[env])
        assert deployed["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        cfn = _client(emulator["url"], ACCOUNTS[env], "cloudformation")
        resources = cfn.list_stack_resources(StackName=deployed["StackId"])["StackResourceSummaries"]
        assert unguarded <= {r["ResourceType"] for r in resources}, stack


def test_second_rollout_starts_no_operation_and_only_reads(emulator, capsys):
    before = _operations(emulator["url"])
    with herd_aws.recording() as calls:
        code, out = _run(capsys, "rollout", "--local", "--env", "all")
    assert code == 0, out
    assert f"0 operation(s), {2 * len(STACKS)} stack instance(s) unchanged" in out
    assert calls.mutating == []
    assert _operations(emulator["url"]) == before


def test_one_parameter_change_updates_one_stack_instance(emulator, capsys, tmp_path):
    shutil.copytree(ROOT / "parameters", tmp_path / "parameters")
    shutil.copytree(ROOT / "output", tmp_path / "output")
    dev_file = tmp_path / "parameters" / "dev.json"
    values = json.loads(dev_file.read_text())
    values["network"]["flow_log_retention_days"] = 60
    dev_file.write_text(json.dumps(values, indent=2))
    paths = ["--parameters-dir", str(tmp_path / "parameters"), "--output-dir", str(tmp_path / "output")]
    assert cli.build_templates_main([*paths, "--stack", "network", "--env", "dev"]) == 0
    capsys.readouterr()
    with herd_aws.recording() as calls:
        code, out = _run(capsys, "rollout", "--local", "--env", "all", *paths)
    assert code == 0, out
    assert [op for _, op in calls.mutating] == ["UpdateStackInstances"]
    assert f"1 operation(s), {2 * len(STACKS) - 1} stack instance(s) unchanged" in out
    retention = names.Network.FLOW_LOG_RETENTION
    deployed = {a: {p["ParameterKey"]: p["ParameterValue"] for p in _instance_stack(emulator["url"], "network", a)
                    ["Parameters"]} for a in (DEV, PROD)}
    assert deployed[DEV][retention] == "60"
    prod_values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(
        (ROOT / "output" / "parameters" / "prod" / "network.json").read_text())}
    assert deployed[PROD][retention] == prod_values[retention]


def test_deploy_plan_shows_what_the_environment_gets_and_deploys_nothing(emulator, capsys):
    code, out = _run(capsys, "deploy", "--local", "--env", "dev", "--stack", "network", "--plan")
    assert code == 0, out
    template = normalise((ROOT / "output" / "templates" / "network.yaml").read_text())
    values = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(
        (ROOT / "output" / "parameters" / "dev" / "network.json").read_text())}
    evaluated = Evaluated(template, values)
    for condition in template["Conditions"]:
        assert f"{condition}={str(evaluated.condition(condition)).lower()}" in out
    kept = evaluated.resources()
    assert len(kept) < len(template["Resources"])  # dev: two AZs, one NAT gateway
    assert f"this environment gets {len(kept)} of the template's {len(template['Resources'])} resources" in out
    assert "NatGatewayB" in out.split("left out by a Condition:")[1]
    stacks = _client(emulator["url"], DEV, "cloudformation").list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackName"] == names.stack_name("network")
                and s["StackStatus"] != "DELETE_COMPLETE"]


def test_status_every_stack_deployed_connections_pending(emulator, capsys):
    code, out = _run(capsys, "status", "--local")
    assert code == 0, out
    rows = [line for line in out.splitlines() if re.match(rf"  (dev|prod) +\d{{12}} {REGION} ", line)]
    assert len(rows) == 2 * len(STACKS)
    assert all(" CURRENT " in row for row in rows), rows
    assert out.count(": PENDING: activate it once in the console") == 2
    code, out = _run(capsys, "local", "status")
    assert code == 0
    for stack in STACKS:
        assert re.search(rf"StackSet {names.stackset_name(stack)} +ACTIVE +instances: dev:CURRENT prod:CURRENT", out)
    assert out.count("StackSet-herd-") == 2 * len(STACKS)  # the instances' stacks, in dev and prod


def test_plain_endpoint_url_reaches_the_same_emulator(emulator, capsys):
    code, out = _run(capsys, "status", "--endpoint-url", emulator["url"], "--role-name", local.EMULATOR_ROLE_NAME)
    assert code == 0, out
    assert out.count(" CURRENT ") == 2 * len(STACKS)


def test_doctor_leaves_only_what_needs_a_person(emulator, capsys):
    code, out = _run(capsys, "doctor", "--local")
    assert code == 1, out  # something is missing: the connections a person activates
    failed = [line for line in out.splitlines() if line.strip().startswith("FAIL")]
    assert len(failed) == 2 and all("GitHub connection PENDING" in line for line in failed), failed
    warnings = [line for line in out.splitlines() if line.strip().startswith("warn")]
    # The first push (a person) and the Session Manager plugin (a tool of the operator's machine, not of
    # the deployment) are all that is left.
    assert all("has no image yet" in line or "session-manager-plugin" in line for line in warnings), warnings


def _exports(url: str, account: str) -> dict[str, str]:
    cfn = _client(url, account, "cloudformation")
    return {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}


def test_restore_plan_then_yes(emulator, capsys):
    url = emulator["url"]
    exports = _exports(url, DEV)
    backup = _client(url, DEV, "backup")
    vault = exports[names.export_name(names.DATA, D.OUT_BACKUP_VAULT_NAME)]
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=vault)["RecoveryPoints"]
    file_system = exports[names.export_name(names.DATA, D.OUT_FILE_SYSTEM_ARN)]
    assert {p["ResourceArn"] for p in points} == {file_system}
    point = points[0]["RecoveryPointArn"]

    code, out = _run(capsys, "restore", "--local", "--env", "dev", "--recovery-point", point, "--plan")
    assert code == 0, out
    assert "plan only: nothing was changed" in out
    assert backup.list_restore_jobs()["RestoreJobs"] == []

    code, out = _run(capsys, "restore", "--local", "--env", "dev", "--recovery-point", point, "--yes")
    assert code == 0, out
    jobs = backup.list_restore_jobs()["RestoreJobs"]
    assert [(j["RecoveryPointArn"], j["Status"], j["CreatedResourceArn"]) for j in jobs] == \
        [(point, "COMPLETED", file_system)]
    ecs = _client(url, DEV, "ecs")
    cluster = exports[names.export_name(names.SERVICE, S.OUT_CLUSTER_NAME)]
    task_arns = ecs.list_tasks(cluster=cluster, startedBy=STARTED_BY)["taskArns"]
    assert len(task_arns) == 1
    task = ecs.describe_tasks(cluster=cluster, tasks=task_arns)["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert task["overrides"]["containerOverrides"][0]["command"][:3] == ["sh", "-c", MOVE_SCRIPT]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    subnet = _client(url, DEV, "ec2").describe_subnets(SubnetIds=[details["subnetId"]])["Subnets"][0]
    private = exports[names.export_name(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS)].split(",")
    assert subnet["SubnetId"] in private
    assert ipaddress.ip_address(details["privateIPv4Address"]) in ipaddress.ip_network(subnet["CidrBlock"])
    services = ecs.describe_services(cluster=cluster, services=[S.MANAGER_SERVICE_NAME, S.POSTGRES_SERVICE_NAME])
    assert [s["desiredCount"] for s in services["services"]] == [1, 1]


def _exists(call) -> bool:
    try:
        call()
    except Exception as exc:  # any not-found error of any service
        if "NotFound" in type(exc).__name__ or "NoSuch" in type(exc).__name__ or "does not exist" in str(exc) \
                or "not found" in str(exc).lower():
            return False
        raise
    return True


def test_removing_the_stacks_on_purpose_keeps_what_is_retained(emulator, capsys):
    """README §8: delete-stack-instances of dev's stacks in reverse order, then the pipeline StackSet. The
    network stays: the retained file system's mount targets keep their subnets in use (on AWS as here)."""
    url = emulator["url"]
    exports = _exports(url, DEV)
    file_system = exports[names.export_name(names.DATA, D.OUT_FILE_SYSTEM_ID)]
    vault = exports[names.export_name(names.DATA, D.OUT_BACKUP_VAULT_NAME)]
    repository = exports[names.export_name(names.DATA, D.OUT_ECR_REPOSITORY_NAME)]
    secret = exports[names.export_name(names.DATA, D.OUT_DB_SECRET_ARN)]
    bucket = {o["OutputKey"]: o["OutputValue"] for o in _instance_stack(url, "pipeline", DEV)["Outputs"]}[
        names.Pipeline.OUT_ARTIFACT_BUCKET]
    balancer = {o["OutputKey"]: o["OutputValue"] for o in _instance_stack(url, names.EDGE, DEV)["Outputs"]}[
        names.Edge.OUT_LOAD_BALANCER_ARN]
    admin = _client(url, ADMIN, "cloudformation")
    removed = [stack for stack in STACKS if stack != names.NETWORK]
    stack_ids = {stack: _instance_stack(url, stack, DEV)["StackId"] for stack in removed}
    for stack in reversed(removed):  # aws cloudformation delete-stack-instances ... --no-retain-stacks
        accounts = [DEV, PROD] if stack == names.PIPELINE else [DEV]
        operation = admin.delete_stack_instances(StackSetName=names.stackset_name(stack), Accounts=accounts,
                                                 Regions=[REGION], RetainStacks=False)["OperationId"]
        status = admin.describe_stack_set_operation(StackSetName=names.stackset_name(stack),
                                                    OperationId=operation)["StackSetOperation"]["Status"]
        assert status == "SUCCEEDED"
    admin.delete_stack_set(StackSetName=names.stackset_name(names.PIPELINE))

    summaries = {s["StackId"]: s["StackStatus"]
                 for s in _client(url, DEV, "cloudformation").list_stacks()["StackSummaries"]}
    assert {summaries[stack_ids[stack]] for stack in removed} == {"DELETE_COMPLETE"}
    efs, backup = _client(url, DEV, "efs"), _client(url, DEV, "backup")
    ecr, secrets, s3 = _client(url, DEV, "ecr"), _client(url, DEV, "secretsmanager"), _client(url, DEV, "s3")
    assert efs.describe_file_systems(FileSystemId=file_system)["FileSystems"]
    assert backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultName"] == vault
    assert ecr.describe_repositories(repositoryNames=[repository])["repositories"]
    assert secrets.describe_secret(SecretId=secret)["ARN"] == secret
    assert _exists(lambda: s3.head_bucket(Bucket=bucket))
    # What is not retained goes with its stack: the edge stack's load balancer.
    elbv2 = _client(url, DEV, "elbv2")
    assert not _exists(lambda: elbv2.describe_load_balancers(LoadBalancerArns=[balancer]))

    code, out = _run(capsys, "status", "--local")
    assert code == 0, out
    assert out.count("NOT DEPLOYED") == len(removed) + 1  # dev's stacks and prod's pipeline


def test_local_stop_ends_it(emulator, capsys):
    code, out = _run(capsys, "local", "stop")
    assert code == 0, out
    assert f"stopped the emulator on {emulator['url']} (pid {emulator['pid']})" in out
    assert not os.path.exists(os.environ[local.STATE_FILE_VARIABLE])
    deadline = time.monotonic() + 10
    while local._alive(emulator["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not local._alive(emulator["pid"])
    assert local._info(emulator["url"]) is None
    code, out = _run(capsys, "local", "status")
    assert code == 1
    assert "no emulator running" in out


def test_a_stale_state_file_is_removed_not_trusted(tmp_path, monkeypatch, capsys):
    state = tmp_path / ".herd-local.json"
    monkeypatch.setenv(local.STATE_FILE_VARIABLE, str(state))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state.write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}", "pid": dead.pid, "port": 1}))
    code, out = _run(capsys, "local", "stop")
    assert code == 0
    assert f"(pid {dead.pid}) no longer runs; removed the file" in out
    assert not state.exists()
    state.write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}", "pid": dead.pid, "port": 1}))
    code, out = _run(capsys, "local", "status")
    assert code == 1 and "no emulator running" in out
    assert not state.exists()
