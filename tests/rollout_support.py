"""Shared helpers of the rollout, deploy and status tests: the CLI against the moto server, and the
stacks moto can really create."""

from __future__ import annotations

import json
import os
from pathlib import Path

from herd_cfn import cli
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.local import EMULATOR_ROLE_NAME
from herd_cfn.templates import registry

# The stacks the rollout tests roll out through a plain endpoint: the two that need nothing the accounts must
# already have (the edge stack needs a hosted zone). Every stack, in both accounts, on a running emulator:
# tests/operations/test_local_emulator.py (herd_cfn.operations.local.EMULATOR_STACKS). HERD_MOTO_STACKS overrides it.
ROLLOUT_TEST_STACKS = ("network", "data")
MOTO_STACKS = tuple(
    name for name in os.environ.get("HERD_MOTO_STACKS", ",".join(ROLLOUT_TEST_STACKS)).split(",")
    if name in registry.names()
)
ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
ADMIN, DEV, PROD = "111111111111", "222222222222", "333333333333"


# Commands that wait for AWS take the polling options; status and doctor only read.
WAITING_COMMANDS = ("bootstrap", "rollout", "deploy", "restore")


def aws_args(endpoint_url: str, project_dir: Path, waits: bool = True) -> list[str]:
    polling = ["--poll-interval", "0.01", "--poll-max", "0.1", "--timeout", "30"] if waits else []
    return ["--endpoint-url", endpoint_url, "--role-name", EMULATOR_ROLE_NAME, *polling,
            "--parameters-dir", str(project_dir / "parameters"), "--output-dir", str(project_dir / "output")]


def run_cli(command: str, endpoint_url: str, project_dir: Path, *extra: str) -> int:
    return cli.main([command, *aws_args(endpoint_url, project_dir, command in WAITING_COMMANDS), *extra])


def stack_args(stacks: tuple[str, ...] = MOTO_STACKS) -> list[str]:
    return [arg for name in stacks for arg in ("--stack", name)]


def client(endpoint_url: str, account: str, service: str):
    # AwsContext shares botocore's parsed service models between sessions (emulator.account_session
    # would parse them again for every client). Not cached: moto's reset forgets assumed-role keys.
    ctx = AwsContext(endpoint_url=endpoint_url, role_name=EMULATOR_ROLE_NAME)
    return ctx.client(ctx.session(account, REGION), service)


def instances(endpoint_url: str, stack: str) -> dict[str, dict]:
    """The StackSet's instances by account, as the administrator sees them."""
    cfn = client(endpoint_url, ADMIN, "cloudformation")
    return {s["Account"]: s for s in cfn.list_stack_instances(StackSetName=f"herd-{stack}")["Summaries"]}


def overrides(endpoint_url: str, stack: str, account: str) -> dict[str, str]:
    cfn = client(endpoint_url, ADMIN, "cloudformation")
    instance = cfn.describe_stack_instance(StackSetName=f"herd-{stack}", StackInstanceAccount=account,
                                           StackInstanceRegion=REGION)["StackInstance"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in instance["ParameterOverrides"]}


def use_emulator_certificate(ctx: AwsContext, project_dir: Path, env: str = "dev") -> None:
    """output/ of a copy: the environment's edge stack takes a certificate from the emulator's ACM instead
    of validating one through a hosted zone."""
    from herd_cfn import names

    edge = names.Edge
    parameters_file = project_dir / "output" / "parameters" / env / f"{names.EDGE}.json"
    values = json.loads(parameters_file.read_text())
    domain = next(p["ParameterValue"] for p in values if p["ParameterKey"] == edge.DOMAIN)
    account = json.loads((project_dir / "parameters" / f"{env}.json").read_text())["account_id"]
    acm = ctx.client(ctx.session(account, REGION), "acm")
    certificate = acm.request_certificate(DomainName=domain, SubjectAlternativeNames=[f"mqtt.{domain}"])
    for item in values:
        if item["ParameterKey"] == edge.HOSTED_ZONE_ID:
            item["ParameterValue"] = ""
        elif item["ParameterKey"] == edge.CERTIFICATE_ARN:
            item["ParameterValue"] = certificate["CertificateArn"]
    parameters_file.write_text(json.dumps(values, indent=2))


def set_env_value(project_dir: Path, env: str, section: str, key: str, value) -> None:
    """Change one value in a copied parameters/<env>.json and rebuild the copied output/."""
    path = project_dir / "parameters" / f"{env}.json"
    data = json.loads(path.read_text())
    data[section][key] = value
    path.write_text(json.dumps(data, indent=2) + "\n")
    assert cli.build_templates_main(["--parameters-dir", str(project_dir / "parameters"),
                                     "--output-dir", str(project_dir / "output")]) == 0


class StubContext(AwsContext):
    """An AwsContext that hands out the given (Stubber-wrapped) clients, for calls moto lacks."""

    def __init__(self, clients):
        super().__init__()
        self.clients = clients

    def session(self, account_id, region):
        return None

    def client(self, session, service):
        return self.clients[service]


def stub_client(service: str):
    """A client with fake credentials that never leaves the process once a Stubber is activated."""
    import botocore.session

    return botocore.session.get_session().create_client(
        service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


def add_environments(project_dir: Path, names: list[str], waves=None, build: bool = True) -> dict[str, str]:
    """More simulated accounts in a copied parameters/ (dev's values, own account, domain and VPC CIDR),
    ``waves`` written to project.json, output/ rebuilt. Returns the account id of each new environment."""
    parameters = project_dir / "parameters"
    template = json.loads((parameters / "dev.json").read_text())
    project = json.loads((parameters / "project.json").read_text())
    accounts = {}
    for i, name in enumerate(names, start=1):
        env = json.loads(json.dumps(template))
        env["account_id"] = accounts[name] = f"{444444444440 + i:012d}"
        # Each account has its own Docker Hub login: ECR takes only a secret of the rule's account.
        login = env["data"].get("docker_hub_cache_secret_arn")
        if login:
            env["data"]["docker_hub_cache_secret_arn"] = login.replace(f":{template['account_id']}:",
                                                                       f":{env['account_id']}:")
        env["domain"] = f"{name}.platform-dev.herd-itt.com"
        env["pipeline"]["branch"] = name  # each environment deploys from its own branch
        env["network"]["vpc_cidr"] = f"10.{100 + i}.0.0/16"
        (parameters / f"{name}.json").write_text(json.dumps(env, indent=2) + "\n")
        project["environments"].append(name)
    if waves is not None:
        project["waves"] = waves
    (parameters / "project.json").write_text(json.dumps(project, indent=2) + "\n")
    if build:
        output = str(project_dir / "output")
        assert cli.build_templates_main(["--parameters-dir", str(parameters), "--output-dir", output]) == 0
    return accounts
