"""``--local``: run a command against moto on 127.0.0.1 with the project's accounts simulated.

The emulator starts empty, so the StackSet roles are bootstrapped first, the way a user does once in
real accounts. Nothing leaves this machine: fake credentials, loopback address only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from herd_cfn.config.environments import Project
from herd_cfn.operations.aws import AwsContext
from herd_cfn.operations.progress import Progress
from herd_cfn.operations.waiting import EMULATOR_POLLING

# moto lets any role be assumed; the name only says what the role stands for.
EMULATOR_ROLE_NAME = "herd-emulated-access"

# The stacks `herd-cfn rollout --local` completes through StackSets on moto 5.2.5 (with
# herd_cfn.emulator.fixes); it rolls out these unless --stack says otherwise, and the rollout tests and
# the benchmark cover the same list. Left out, each for what moto does with its unchanged template:
# - service: CreateStackInstances fails "Unable to describe task definition" (moto creates the manager
#   service, which names its task definition by family, before the task definition it DependsOn); past
#   that, moto has no GetAtt TargetGroupName/TargetGroupFullName, no AWS::ServiceDiscovery::* and no
#   AWS::CertificateManager::Certificate, makes every load balancer an ALB (the NLB's TLS listener is
#   refused), and skips the data stack's secrets, whose exports the service imports (no value).
#   tests/test_code_deploy_constraint.py creates it as a plain stack with those named adaptations.
# - pipeline: needs the service stack's exports; on its own, moto skips AWS::CodeConnections::Connection
#   and then fails "Fn::GetAtt references undefined resource GitHubConnection" (it also skips every
#   CodeBuild, CodePipeline and CodeDeploy resource, DESIGN.md §6).
EMULATOR_STACKS = ("network", "data")

BANNER = ("*** EMULATOR: moto on {url}, accounts {accounts} are simulated; nothing here touches AWS and "
          "everything is gone when the command ends ***")


@contextmanager
def emulator(project: Project, output_dir: Path, progress: Progress, bootstrap: bool = True
             ) -> Iterator[AwsContext]:
    from herd_cfn.emulator.server import LocalAws, fake_credentials, skipped_resource_types

    # moto's web server logs every request; the banner and our own lines are what the user needs.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    with fake_credentials(), skipped_resource_types() as skipped:
        server = LocalAws().start()
        try:
            accounts = sorted({project.settings.administrator_account_id,
                               *(env.account_id for env in project.environments.values())})
            progress.log(BANNER.format(url=server.endpoint_url, accounts=", ".join(accounts)))
            ctx = AwsContext(endpoint_url=server.endpoint_url, role_name=EMULATOR_ROLE_NAME,
                             polling=EMULATOR_POLLING)
            if bootstrap:
                from herd_cfn.operations.bootstrap import bootstrap as run_bootstrap

                run_bootstrap(ctx, project, list(project.environments.values()), output_dir, progress)
            yield ctx
        finally:
            server.stop()
            if skipped:
                progress.log(f"emulator: moto's CloudFormation created no {', '.join(sorted(skipped))} (it skips "
                             "these types without an error; AWS creates them)")
            from herd_cfn.emulator.fixes._model import RECORDED

            recorded = sorted(t for t, resources in RECORDED.items() if resources)
            if recorded:
                progress.log(f"emulator: {', '.join(recorded)} only recorded (moto has no service to read them "
                             "back from; their ids and attributes are the documented ones)")
