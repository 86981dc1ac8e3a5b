"""``herd-cfn doctor`` against moto on 127.0.0.1: what is missing, with its fix, and what is there."""

from __future__ import annotations

import io
import json
import re
import tomllib
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.stub import Stubber

from herd_cfn import cli, names
from herd_cfn.operations import aws as herd_aws
from herd_cfn.operations.doctor import deployment_checks, local_checks
from herd_cfn.operations.doctor.findings import MISSING, OK, WARN, Finding, Section, exit_code, fancy, render
from herd_cfn.operations.status import InstanceStatus
from herd_cfn.templates.registry import load_project
from tests.rollout_support import ADMIN, DEV, PROD, REGION, ROOT, StubContext, aws_args, client, run_cli, stub_client

DEV_DOMAIN = "platform-dev.herd-itt.com"
ZONE_ID = "ZHERDDEV0000000001"


def doctor(capsys, endpoint_url: str, project_dir: Path, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    with herd_aws.recording() as calls:
        code = run_cli("doctor", endpoint_url, project_dir, *extra)
    assert calls.mutating == [], "doctor only reads"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out


def section(out: str, title_start: str) -> str:
    """The lines of one section of the report (up to the blank line that ends it)."""
    block = out[out.index(f"\n{title_start}") + 1:]
    return block.split("\n\n", 1)[0]


def failures(out: str) -> list[tuple[str, str]]:
    """Every FAIL line with the fix line under it."""
    lines = out.splitlines()
    return [(line.strip(), lines[i + 1].strip()) for i, line in enumerate(lines) if line.startswith("  FAIL ")]


def test_empty_emulator_everything_is_missing_and_each_finding_names_its_fix(aws, project_copy, capsys):
    code, out = doctor(capsys, aws.endpoint_url, project_copy)
    assert code == 1
    found = failures(out)
    assert all(fix.startswith("fix: ") and len(fix) > len("fix: ") for _, fix in found)
    by_what = {what: fix for what, fix in found}

    def fix_of(pattern: str) -> str:
        matches = [fix for what, fix in by_what.items() if re.search(pattern, what)]
        assert len(matches) == 1, (pattern, out)
        return matches[0]

    assert "herd-cfn bootstrap" in fix_of(f"administration role .* not found in account {ADMIN}")
    for env, account in (("dev", DEV), ("prod", PROD)):
        assert f"herd-cfn bootstrap --env {env}" in fix_of(f"execution role .* not found in account {account}")
        env_section = section(out, f"{env} (")
        assert "FAIL GitHub connection: not created yet" in env_section
        assert f"fix: herd-cfn rollout --env {env} creates it as PENDING" in env_section
        assert f"fix: herd-cfn rollout --env {env} (the data stack creates it)" in env_section
    assert "herd-cfn rollout --env dev (the data stack creates it)" in fix_of(f"ECR .* not found in account {DEV}$")
    login = fix_of(f"Docker Hub login .*{DEV}:secret:ecr-pullthroughcache/docker-hub-AbCdEf .* not found")
    assert ("aws secretsmanager create-secret --region eu-west-1 --name ecr-pullthroughcache/docker-hub "
            "--secret-string") in login and "data.docker_hub_cache_secret_arn" in login
    assert "Update pending connection" in section(out, "dev (").split("GitHub connection: not created yet")[1]
    assert "aws route53 create-hosted-zone --name platform-dev.herd-itt.com" in fix_of(
        f"hosted zone Z0000000000000000DEV .* not found in account {DEV}")
    # the administration role; per env: role, connection, zone, repository, Docker Hub login
    assert len(found) == 1 + 2 * 5
    # The AWS CLI is optional: a machine without it adds a warning, not a failure.
    assert re.fullmatch(r"doctor: 11 things missing, [01] warnings?", out.splitlines()[-1])


def test_after_bootstrap_the_role_checks_pass(aws, project_copy, capsys):
    assert run_cli("bootstrap", aws.endpoint_url, project_copy) == 0
    code, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert code == 1  # connection, zone and image are still missing
    admin = section(out, "administrator (")
    assert f"ok   account {ADMIN} reached by assuming role" in admin
    assert "ok   StackSet administration role AWSCloudFormationStackSetAdministrationRole" in admin
    assert (f"ok   StackSet execution role AWSCloudFormationStackSetExecutionRole, trusting the administrator "
            f"account {ADMIN}, and the permissions boundary herd-permissions-boundary") in section(out, "dev (")
    assert "prod (" not in out  # --env dev checks dev only


def test_an_execution_stack_from_before_the_boundary_is_missing_it(aws, project_copy, capsys):
    assert run_cli("bootstrap", aws.endpoint_url, project_copy, "--env", "dev") == 0
    iam = client(aws.endpoint_url, DEV, "iam")
    boundary = f"arn:aws:iam::{DEV}:policy/{names.PERMISSIONS_BOUNDARY_NAME}"
    iam.delete_policy(PolicyArn=boundary)  # what an account bootstrapped by an older herd-cfn has
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert (f"FAIL permissions boundary {names.PERMISSIONS_BOUNDARY_NAME} not found in account {DEV} "
            "(every role of the stacks names it)") in out
    assert "fix: herd-cfn bootstrap --env dev (the execution stack creates it)" in out


def test_execution_role_trusting_another_account_is_missing(aws, project_copy, capsys):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]}
    client(aws.endpoint_url, DEV, "iam").create_role(RoleName=names.EXECUTION_ROLE_NAME,
                                                     AssumeRolePolicyDocument=json.dumps(trust))
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert (f"FAIL StackSet execution role {names.EXECUTION_ROLE_NAME} trusts 999999999999, not the administrator "
            f"account {ADMIN}") in out
    assert f"fix: herd-cfn bootstrap --env dev (deploys it with AdministratorAccountId={ADMIN})" in out


def _write_env(project_dir: Path, env: str, **values) -> None:
    """Set fields wherever the registry puts them (service today, edge after a split) and rebuild output/."""
    project = load_project(project_dir / "parameters")
    path = project_dir / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    for field, value in values.items():
        key = deployment_checks.setting(project.environment(env), field)[0]
        section_name, name = key.split(".")
        if value is None:
            data[section_name].pop(name, None)
        else:
            data[section_name][name] = value
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert cli.build_templates_main(["--parameters-dir", str(project_dir / "parameters"),
                                     "--output-dir", str(project_dir / "output")]) == 0


@contextmanager
def zone_id(account: str, name: str, zone: str):
    """moto makes random zone ids (not starting with Z as AWS's do, which the parameters require); its id
    manager hands out a chosen one for the next zone of this name."""
    from moto.route53.models import HostedZoneIdentifier
    from moto.utilities.id_generator import moto_id_manager

    identifier = HostedZoneIdentifier(account, f"{name}.", None)
    moto_id_manager.set_custom_id(identifier, zone)
    try:
        yield
    finally:
        moto_id_manager.unset_custom_id(identifier)


def _create_zone(endpoint_url: str, name: str, private: bool = False) -> None:
    route53 = client(endpoint_url, DEV, "route53")
    # AWS makes a zone private when a VPC is given; moto also needs HostedZoneConfig.PrivateZone.
    extra = {"VPC": {"VPCRegion": REGION, "VPCId": "vpc-12345678"}, "HostedZoneConfig": {"PrivateZone": True}
             } if private else {}
    with zone_id(DEV, name, ZONE_ID):
        created = route53.create_hosted_zone(Name=name, CallerReference=name, **extra)
    assert created["HostedZone"]["Id"] == f"/hostedzone/{ZONE_ID}"


@pytest.mark.parametrize("zone_name", [DEV_DOMAIN, "herd-itt.com"])
def test_hosted_zone_of_the_domain_or_a_parent_passes(aws, project_copy, capsys, zone_name):
    _create_zone(aws.endpoint_url, zone_name)
    _write_env(project_copy, "dev", hosted_zone_id=ZONE_ID)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"ok   hosted zone {ZONE_ID} ({zone_name}) serves {DEV_DOMAIN} and mqtt.{DEV_DOMAIN}" in out


def test_hosted_zone_of_another_name_fails(aws, project_copy, capsys):
    _create_zone(aws.endpoint_url, "example.org")
    _write_env(project_copy, "dev", hosted_zone_id=ZONE_ID)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"FAIL hosted zone {ZONE_ID} is example.org, which is neither {DEV_DOMAIN} nor a parent of it" in out
    key = deployment_checks.setting(load_project(project_copy / "parameters").environment("dev"), "hosted_zone_id")[0]
    assert f"fix: set {key} in {project_copy / 'parameters' / 'dev.json'} to the zone of {DEV_DOMAIN}" in out


def test_private_hosted_zone_fails(aws, project_copy, capsys):
    _create_zone(aws.endpoint_url, DEV_DOMAIN, private=True)
    _write_env(project_copy, "dev", hosted_zone_id=ZONE_ID)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"FAIL hosted zone {ZONE_ID} ({DEV_DOMAIN}) is private" in out


def _certificate_mode(endpoint_url: str, project_dir: Path, domain: str, *alternatives: str) -> str:
    acm = client(endpoint_url, DEV, "acm")
    extra = {"SubjectAlternativeNames": list(alternatives)} if alternatives else {}
    arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS", **extra)["CertificateArn"]
    _write_env(project_dir, "dev", hosted_zone_id=None, certificate_arn=arn)
    return arn


def test_certificate_pending_validation_then_issued(aws, project_copy, capsys, monkeypatch):
    arn = _certificate_mode(aws.endpoint_url, project_copy, DEV_DOMAIN, f"mqtt.{DEV_DOMAIN}")
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    # AWS keeps a requested certificate PENDING_VALIDATION until its DNS validation records resolve; moto
    # keeps it so for MOTO_ACM_VALIDATION_WAIT (60) seconds, then reports ISSUED without any record.
    assert f"FAIL certificate {arn} is PENDING_VALIDATION" in out
    assert "fix: create the DNS validation records that `aws acm describe-certificate" in out
    monkeypatch.setattr("moto.settings.ACM_VALIDATION_WAIT", -1)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"ok   certificate ISSUED for {DEV_DOMAIN} and mqtt.{DEV_DOMAIN}" in out


def test_certificate_that_does_not_cover_mqtt_fails(aws, project_copy, capsys, monkeypatch):
    monkeypatch.setattr("moto.settings.ACM_VALIDATION_WAIT", -1)
    arn = _certificate_mode(aws.endpoint_url, project_copy, DEV_DOMAIN)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"FAIL certificate {arn} covers {DEV_DOMAIN}, not mqtt.{DEV_DOMAIN}" in out
    assert f"--subject-alternative-names mqtt.{DEV_DOMAIN}" in out


def test_wildcard_certificate_covers_the_mqtt_name(aws, project_copy, capsys, monkeypatch):
    monkeypatch.setattr("moto.settings.ACM_VALIDATION_WAIT", -1)
    _certificate_mode(aws.endpoint_url, project_copy, DEV_DOMAIN, f"*.{DEV_DOMAIN}")
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"ok   certificate ISSUED for {DEV_DOMAIN} and mqtt.{DEV_DOMAIN}" in out


def test_ecr_repository_without_image_warns_and_with_an_image_passes(aws, project_copy, capsys):
    ecr = client(aws.endpoint_url, DEV, "ecr")
    repository = names.Data.ECR_REPOSITORY_NAME
    ecr.create_repository(repositoryName=repository)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"warn ECR repository {repository} has no image yet" in out
    assert ("fix: push to the dev branch (or run the pipeline once); until then the manager runs the public image "
            "openremote/manager:1.28.1") in out
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                           "digest": "sha256:" + "a" * 64},
                "layers": []}
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag="0123abc")
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"ok   ECR repository {repository} has images" in out


def test_docker_hub_login_that_exists_passes(aws, project_copy, capsys):
    from herd_cfn.emulator.server import seed_secret

    login = load_project(project_copy / "parameters").environment("dev").data.docker_hub_cache_secret_arn
    seed_secret(login)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert ("ok   Docker Hub login ecr-pullthroughcache/docker-hub-AbCdEf: ECR caches Docker Hub's images under "
            "herd/docker-hub/ with it") in section(out, "dev (")


def test_docker_hub_cache_off_is_said_plainly_as_a_warning(aws, project_copy, capsys):
    _write_env(project_copy, "dev", docker_hub_cache_secret_arn=None)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    dev = section(out, "dev (")
    assert ("warn Docker Hub pull-through cache is off (data.docker_hub_cache_secret_arn not set): tasks and image "
            "builds pull Docker Hub images from Docker Hub itself, anonymously, 10 pulls an hour per IP address") in dev
    assert "fix: create a Docker Hub access token" in dev and "--name ecr-pullthroughcache/docker-hub " in dev
    assert not [what for what, _ in failures(out) if "Docker Hub" in what]


def test_docker_hub_login_scheduled_for_deletion_is_missing(aws, project_copy, capsys):
    from herd_cfn.emulator.server import seed_secret

    login = load_project(project_copy / "parameters").environment("dev").data.docker_hub_cache_secret_arn
    seed_secret(login)
    client(aws.endpoint_url, DEV, "secretsmanager").delete_secret(SecretId=login, RecoveryWindowInDays=7)
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert "FAIL Docker Hub login ecr-pullthroughcache/docker-hub-AbCdEf is scheduled for deletion" in out
    assert f"fix: aws secretsmanager restore-secret --region {REGION} --secret-id {login}" in out


def test_docker_hub_login_under_a_customer_key_warns(aws, project_copy, capsys):
    secrets = client(aws.endpoint_url, DEV, "secretsmanager")
    key = client(aws.endpoint_url, DEV, "kms").create_key()["KeyMetadata"]["Arn"]
    created = secrets.create_secret(Name="ecr-pullthroughcache/docker-hub", KmsKeyId=key,
                                    SecretString='{"username": "herd", "accessToken": "t"}')
    _write_env(project_copy, "dev", docker_hub_cache_secret_arn=created["ARN"])
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"warn Docker Hub login {created['ARN'].split(':secret:')[1]} is encrypted with the key {key}" in out
    assert "AWSServiceRoleForECRPullThroughCache" in out and "aws/secretsmanager" in out


def test_missing_credentials_is_one_finding(aws, project_copy, capsys, monkeypatch, tmp_path):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, out = doctor(capsys, aws.endpoint_url, project_copy)
    assert code == 1
    assert failures(out) == [("FAIL no AWS credentials found",
                              "fix: set AWS_PROFILE or pass --profile, run `aws configure` or `aws sso login` (or try "
                              "everything against the emulator with --local)")]
    assert "(AWS checks skipped: they need credentials)" in out
    assert "administrator (" not in out


def test_credentials_of_another_account_without_a_way_in(aws, project_copy, capsys):
    # No --role-name: moto's plain credentials act in its default account, not the administrator's.
    capsys.readouterr()
    code = cli.main(["doctor", *[a for a in aws_args(aws.endpoint_url, project_copy, waits=False)
                                 if a not in ("--role-name", "herd-emulated-access")], "--env", "dev"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL account {ADMIN} cannot be reached with the base credentials" in out
    assert "fix: pass --account-profile administrator=PROFILE" in out
    assert f"(the other checks of dev need access to account {DEV})" in out


def test_stale_output_is_a_finding(aws, project_copy, capsys):
    template = project_copy / "output" / "templates" / "network.yaml"
    template.write_text(template.read_text() + "# edited by hand\n")
    _, out = doctor(capsys, aws.endpoint_url, project_copy, "--env", "dev")
    assert f"FAIL {project_copy / 'output'}/ is stale: {template}" in out
    assert "fix: python build_templates.py, then review and commit output/" in out


def test_bad_parameters_are_one_finding_and_skip_aws(aws, project_copy, capsys):
    path = project_copy / "parameters" / "dev.json"
    data = json.loads(path.read_text())
    data["region"] = "mars-1"
    path.write_text(json.dumps(data))
    code, out = doctor(capsys, aws.endpoint_url, project_copy)
    assert code == 1
    [(what, fix)] = failures(out)
    assert what.startswith(f"FAIL parameters: {path}: region: ")
    assert fix.startswith("fix: correct that value")
    assert "(AWS checks skipped: they need valid parameters)" in out


def test_local_emulator_is_bootstrapped(project_copy, capsys):
    code = cli.main(["doctor", "--local", "--env", "dev", "--parameters-dir", str(project_copy / "parameters"),
                     "--output-dir", str(project_copy / "output")])
    out = capsys.readouterr().out
    assert code == 1
    assert "*** EMULATOR" in out
    assert "ok   StackSet administration role" in out
    assert "ok   StackSet execution role" in out
    # The emulator has the hosted zone the parameters name (a prerequisite of the accounts), nothing deployed.
    assert "ok   hosted zone Z0000000000000000DEV (platform-dev.herd-itt.com)" in out
    # ...and the Docker Hub login data.docker_hub_cache_secret_arn names (a stand-in value).
    assert "ok   Docker Hub login ecr-pullthroughcache/docker-hub-AbCdEf: ECR caches Docker Hub's images" in out
    whats = [what for what, _ in failures(out)]
    assert [w.split(" ")[1] for w in whats] == ["GitHub", "ECR"], whats


def test_python_version_and_pyproject_agree():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=" + ".".join(map(str, local_checks.MIN_PYTHON))
    too_old = local_checks.python_version((3, 10, 14))
    assert too_old.state == MISSING and "needs 3.11 or newer" in too_old.what
    assert local_checks.python_version((3, 11, 0)).state == OK


def test_missing_aws_cli_is_a_warning():
    finding = local_checks.aws_cli(which=lambda _: None)
    assert finding.state == WARN
    assert "pip install awscli" in finding.fix


def test_missing_session_manager_plugin_is_a_warning_with_the_install_page():
    finding = local_checks.session_manager_plugin(which=lambda _: None)
    assert finding.state == WARN
    assert "herd-cfn shell" in finding.what and "herd-cfn psql" in finding.what
    assert "session-manager-working-with-install-plugin" in finding.fix
    found = local_checks.session_manager_plugin(which=lambda name: f"/usr/local/bin/{name}")
    assert found.state == OK and "/usr/local/bin/session-manager-plugin" in found.what


class _Tty(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_symbols_on_a_terminal_ascii_otherwise(monkeypatch):
    sections = [Section("dev", [Finding(OK, "fine"), Finding(WARN, "meh", "do this"),
                                Finding(MISSING, "gone", "run that")])]
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert fancy(_Tty()) and not fancy(io.StringIO())
    pretty = "\n".join(render(sections, fancy(_Tty())))
    assert "\033[32m✓\033[0m fine" in pretty and "\033[31m✗\033[0m gone" in pretty and "\033[33m!\033[0m meh" in pretty
    monkeypatch.setenv("NO_COLOR", "1")
    assert not fancy(_Tty())
    plain = render(sections, fancy(_Tty()))
    assert plain[:7] == ["dev", "  ok   fine", "  warn meh", "       fix: do this", "  FAIL gone",
                         "       fix: run that", ""]
    assert all(line.isascii() for line in plain)
    assert plain[-1] == "doctor: 1 thing missing, 1 warning"


def test_exit_code_zero_with_only_warnings():
    assert exit_code([Section("x", [Finding(OK, "a"), Finding(WARN, "b", "c")])]) == 0
    assert exit_code([Section("x", [Finding(OK, "a"), Finding(MISSING, "b", "c")])]) == 1


@pytest.mark.parametrize(("state", "expected"), [("PENDING", MISSING), ("AVAILABLE", OK), ("ERROR", MISSING)])
def test_connection_state_from_the_pipeline_stack(project_copy, state, expected):
    # moto implements neither codeconnections nor codestar-connections: stubbed responses as AWS sends them.
    env = load_project(project_copy / "parameters").environment("dev")
    arn = f"arn:aws:codeconnections:{REGION}:{DEV}:connection/5c3d2e1f-0000-4000-8000-000000000000"
    cfn, connections = stub_client("cloudformation"), stub_client("codeconnections")
    row = InstanceStatus("dev", DEV, REGION, names.PIPELINE, "CURRENT", stack_id="arn:stack/pipeline")
    with Stubber(cfn) as cfn_stub, Stubber(connections) as conn_stub:
        cfn_stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": "StackSet-herd-pipeline-1", "StackStatus": "CREATE_COMPLETE",
            "CreationTime": "2026-01-01T00:00:00Z",
            "Outputs": [{"OutputKey": names.Pipeline.OUT_CONNECTION_ARN, "OutputValue": arn}]}]},
            {"StackName": "arn:stack/pipeline"})
        conn_stub.add_response("get_connection", {"Connection": {"ConnectionArn": arn, "ConnectionStatus": state}},
                               {"ConnectionArn": arn})
        finding = deployment_checks.connection(StubContext({"cloudformation": cfn, "codeconnections": connections}),
                                               env, [row])
    assert finding.state == expected
    if state == "PENDING":
        assert "console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1" in finding.fix


def test_aws_cli_that_fails_is_a_warning(tmp_path):
    broken = tmp_path / "aws"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    finding = local_checks.aws_cli(which=lambda _: str(broken))
    assert finding.state == WARN and "exited 3" in finding.what


def test_aws_cli_version_is_shown(tmp_path):
    fake = tmp_path / "aws"
    fake.write_text("#!/bin/sh\necho 'aws-cli/2.15.0 Python/3.11.6 Linux/6 exe/x86_64' >&2\n")
    fake.chmod(0o755)
    finding = local_checks.aws_cli(which=lambda _: str(fake))
    assert finding == Finding(OK, f"AWS CLI 2.15.0 ({fake})")


def test_a_refused_call_names_the_permission_the_check_needs():
    from herd_cfn.errors import DeploymentError
    from herd_cfn.operations.doctor.access_checks import guarded

    def refused():
        raise DeploymentError("access denied (reading hosted zone Z1 in 222222222222): not authorized")

    finding = guarded("route53:GetHostedZone", DEV, refused)
    assert finding.state == MISSING
    assert finding.what == "could not check: access denied (reading hosted zone Z1 in 222222222222): not authorized"
    assert finding.fix == f"let these credentials call route53:GetHostedZone in account {DEV}"


def test_unknown_environment_is_a_usage_error(aws, project_copy, capsys):
    assert run_cli("doctor", aws.endpoint_url, project_copy, "--env", "staging") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and "unknown environment 'staging'" in captured.err


def test_stale_architecture_picture_is_a_finding(project_copy):
    # The same comparison as build_templates.py --check, which also covers the picture.
    project = load_project(project_copy / "parameters")
    dot = project_copy / "output" / "architecture.dot"
    dot.write_text(dot.read_text() + "// edited\n")
    [finding] = local_checks.output(project, project_copy / "output")
    assert finding.state == MISSING and str(dot) in finding.what


def test_the_picture_is_compared_without_graphviz(project_copy, monkeypatch):
    """Checking needs only the DOT source and the renderings' markers, not Graphviz."""
    from herd_cfn.build import diagram

    monkeypatch.setattr(diagram.shutil, "which", lambda _: None)
    project = load_project(project_copy / "parameters")
    (up_to_date,) = local_checks.output(project, project_copy / "output")
    assert up_to_date.state == OK
    (project_copy / "output" / "architecture.svg").write_text("<svg/>")
    (stale,) = local_checks.output(project, project_copy / "output")
    assert stale.state != OK and "architecture.svg" in stale.what
