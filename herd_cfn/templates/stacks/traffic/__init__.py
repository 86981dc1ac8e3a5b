"""The traffic stack: what decides and follows where the manager's traffic goes.

- ``probe``: CodeDeploy's BeforeAllowTraffic hook, which asks the replacement task set for
  ``/api/master/info`` through the ALB's test listener before production traffic moves;
- ``reconcile``: the MQTT target function, which keeps the NLB's ``ip`` target group on the task the
  production listener serves (on every task state change, every five minutes, and from the pipeline's
  AfterAllowTraffic hook).

Cut out of the service and pipeline stacks for room: both were near CloudFormation's 51,200-byte limit
for a template sent inline, and these functions, inline code included, change on their own. It is rolled
out after service (it watches the service's cluster) and before pipeline (the appspec names its probe,
and a new pipeline starts its first execution at once).
"""

from __future__ import annotations

from functools import partial

from troposphere import GetAtt, Ref, Template

from herd_cfn import names
from herd_cfn.fields import LOG_RETENTION_DAYS
from herd_cfn.templates.base import Input, StackDefinition
from herd_cfn.templates.helpers import output
from herd_cfn.templates.stacks.traffic import probe, reconcile

T = names.Traffic

INPUTS = (
    Input(T.LOG_RETENTION, "Days to keep the probe's and the reconcile's logs (the service's log retention)",
          lambda env: env.service.log_retention_days, type="Number",
          allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    Input(T.DOMAIN, "Public DNS name of the platform (Host and TLS name of the probe)",
          lambda env: env.domain, allowed_pattern=r"^[a-z0-9.-]+$", constraint="a lower-case DNS name"),
)


def build(t: Template) -> None:
    probe.build(t)
    reconcile.build(t)
    out = partial(output, t, names.TRAFFIC)
    out(T.OUT_RECONCILE_FUNCTION_ARN, GetAtt(T.RECONCILE_FUNCTION, "Arn"), "MQTT target reconcile function")
    out(T.OUT_HOOK_SECURITY_GROUP, Ref(T.HOOK_SECURITY_GROUP), "Group of the deploy hooks (HTTPS out, test listener)")


STACK = StackDefinition(
    name=names.TRAFFIC,
    description="BeforeAllowTraffic probe of the replacement task set and MQTT target reconcile",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK, names.DATA, names.EDGE, names.SERVICE),
)
