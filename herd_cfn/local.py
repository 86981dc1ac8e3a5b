"""``--local``: run a command against moto on 127.0.0.1 with the project's accounts simulated.

The emulator starts empty, so the StackSet roles are bootstrapped first, the way a user does once in
real accounts. Nothing leaves this machine: fake credentials, loopback address only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from herd_cfn.aws import EMULATOR_POLLING, AwsContext
from herd_cfn.environments import Project
from herd_cfn.progress import Progress

# moto lets any role be assumed; the name only says what the role stands for.
EMULATOR_ROLE_NAME = "herd-emulated-access"

# What moto 5.2.5 can create (with herd_cfn.emulator_fixes). It cannot create the data stack (no
# Fn::GetAtt on EFS file systems) nor what depends on it; `--local` rolls out these unless --stack says
# otherwise. The tests and the benchmark use the same list.
EMULATOR_STACKS = ("network",)

BANNER = ("*** EMULATOR: moto on {url}, accounts {accounts} are simulated; nothing here touches AWS and "
          "everything is gone when the command ends ***")


@contextmanager
def emulator(project: Project, output_dir: Path, progress: Progress, bootstrap: bool = True
             ) -> Iterator[AwsContext]:
    from herd_cfn.emulator import LocalAws, fake_credentials
    from herd_cfn.emulator_fixes import install as install_fixes

    install_fixes()
    # moto's web server logs every request; the banner and our own lines are what the user needs.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    with fake_credentials():
        server = LocalAws().start()
        try:
            accounts = sorted({project.settings.administrator_account_id,
                               *(env.account_id for env in project.environments.values())})
            progress.log(BANNER.format(url=server.endpoint_url, accounts=", ".join(accounts)))
            ctx = AwsContext(endpoint_url=server.endpoint_url, role_name=EMULATOR_ROLE_NAME,
                             polling=EMULATOR_POLLING, emulator=True)
            if bootstrap:
                from herd_cfn.bootstrap import bootstrap as run_bootstrap

                run_bootstrap(ctx, project, list(project.environments.values()), output_dir, progress)
            yield ctx
        finally:
            server.stop()
