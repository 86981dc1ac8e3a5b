"""The stacks of output/, unchanged, deployed to the emulator as plain stacks in one simulated account: shared by
the test modules that need a deployed environment (test_deploy_all_stacks, test_push_rehearsal)."""

from __future__ import annotations

from herd_cfn import names
from herd_cfn.emulator.server import account_session, seed_hosted_zone, seed_secret
from tests.conftest import ROOT
from tests.template_support import parameter_values

OUTPUT = ROOT / "output"


class Deployed:
    """One environment's account in the emulator and the stacks created in it (describe_stacks results)."""

    def __init__(self, endpoint: str, env) -> None:
        self.env = env
        self.endpoint = endpoint
        self.session = account_session(endpoint, env.account_id, env.region)
        self.stacks: dict[str, dict] = {}

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.endpoint)

    def outputs(self, stack: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stacks[stack]["Outputs"]}


def create_stack(cfn, stack: str, env: str, **overrides: str) -> dict:
    """``output/templates/<stack>.yaml`` created with output/parameters/<env>/<stack>.json; its description."""
    parameters = parameter_values(stack, env, **overrides)
    body = (OUTPUT / "templates" / f"{stack}.yaml").read_text()
    cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    return cfn.describe_stacks(StackName=names.stack_name(stack))["Stacks"][0]


def deploy(endpoint: str, env, stacks) -> Deployed:
    """``stacks`` (in dependency order) in ``env``'s account, after stackset-execution (the permissions boundary
    every role names), with what the account has on AWS before any stack: the hosted zone its edge parameters
    name and the Docker Hub login of ECR's pull-through cache."""
    deployed = Deployed(endpoint, env)
    edge = parameter_values(names.EDGE, env.name)
    seed_hosted_zone(env.account_id, edge[names.Edge.HOSTED_ZONE_ID], edge[names.Edge.DOMAIN])
    login = parameter_values(names.DATA, env.name).get(names.Data.DOCKER_HUB_CACHE_LOGIN_ARN)
    if login:
        seed_secret(login)
    cfn = deployed.client("cloudformation")
    for stack in (names.STACKSET_EXECUTION, *stacks):
        deployed.stacks[stack] = create_stack(cfn, stack, env.name)
    return deployed
