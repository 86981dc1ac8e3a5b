"""The manager's outbound rules to devices and services: ``service.manager_egress`` in each environment's
parameters file, a list of ``{"protocol": "tcp"|"udp", "port": n | "from_port": n, "to_port": n, "cidr":
"a.b.c.d/len", "description": "..."}``, each an EgressRule (config.py, which checks one rule at a time).
Without the key an environment gets config.DEFAULT_MANAGER_EGRESS. This module checks an environment's
list as a whole and the project's environments against each other, and makes the template's part.

One template serves every environment, so the rules are part of its shape: every environment lists the
same rules (protocol, ports and description), and only their CIDRs may differ. Why that split: the agents a
project uses, and so the protocols and ports, come with the one custom image every environment runs; where
the devices are (a test rig, the sites) is what differs. A CIDR that every environment shares is written
into the template; the CIDRs that differ come from one comma-separated parameter (ManagerEgressCidrs), so
an environment's CIDRs are parameter values like every other difference between dev and prod. Rules are
inline in the manager's security group (about 125 bytes each: the service template is close to
CloudFormation's 51,200-byte limit), ordered by protocol, ports, description and CIDR so that the order in
the files does not matter.

herd-cfn's own outbound rules of the group stay as they are (security.py): HTTPS to anywhere (ECR, Secrets
Manager, CloudWatch Logs and the other AWS APIs a task needs to start), Keycloak and PostgreSQL by group,
and SMTP 587 to anywhere when ``service.email_secret_arn`` is set. The defaults therefore have
neither 443 nor 587; docs/operating.md says why each default port is there and which agents need a rule
of their own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

from troposphere import Ref, Select, Template, ec2

from herd_cfn import names
from herd_cfn.errors import InputError
from herd_cfn.templates.base import Extension, Input
from herd_cfn.templates.helpers import ANYWHERE, HTTPS, cidr_rule
from herd_cfn.templates.stacks.service.config import DEFAULT_MANAGER_EGRESS, EgressRule

S = names.Service
KEY = "service.manager_egress"
SMTP_PORT = 587  # submission with STARTTLS (OR_EMAIL_TLS=true), e.g. SES; only with an email secret
# Amazon VPC quotas, "Inbound or outbound rules per security group": 60 outbound IPv4 rules by default (a rule
# naming a security group counts too). Adjustable per account; herd-cfn checks against the default.
RULES_PER_GROUP = 60
# The manager group's outbound rules that herd-cfn itself makes (security.py): HTTPS to anywhere, Keycloak and
# PostgreSQL by group; tests/templates/test_manager_egress.py counts them in the template.
OWN_RULES = 3
MAX_BODY_BYTES = 51_200


def rules(env) -> list[EgressRule]:
    return env.service.manager_egress


# --- one environment ---------------------------------------------------------------------------------

def _own_rules(env) -> dict[tuple[str, int, int, str], str]:
    """herd-cfn's own CIDR rules in this environment's manager group, by EC2 identity, with why."""
    own = {("tcp", HTTPS, HTTPS, ANYWHERE): "herd-cfn always allows it (ECR, Secrets Manager, CloudWatch Logs and "
                                            "the other AWS APIs a task needs to start)"}
    if env.service.email_secret_arn:
        own[("tcp", SMTP_PORT, SMTP_PORT, ANYWHERE)] = "herd-cfn allows it because service.email_secret_arn is set"
    return own


def check_environment(env) -> None:
    """No rule twice, none that herd-cfn already makes, and no more than a security group may hold."""
    where, listed = str(env.file), rules(env)
    own = _own_rules(env)
    seen: dict[tuple[str, int, int, str], int] = {}
    for index, rule in enumerate(listed):
        key = f"{KEY}.{index}"
        if rule.identity in own:
            raise InputError(where, key, f"rule {rule.label()} is already there: {own[rule.identity]}; remove it "
                                         "(EC2 refuses a rule twice in one security group)")
        if rule.identity in seen:
            raise InputError(where, key, f"rule {rule.label()} repeats rule {seen[rule.identity]} (same protocol, "
                                         "ports and CIDR; EC2 refuses a rule twice in one security group): remove one")
        seen[rule.identity] = index
    total = len(listed) + OWN_RULES + (len(own) - 1)
    if total > RULES_PER_GROUP:
        raise InputError(where, KEY, (
            f"{len(listed)} rules and herd-cfn's own {total - len(listed)} (HTTPS to AWS, Keycloak, PostgreSQL"
            f"{', SMTP' if len(own) > 1 else ''}) make {total} outbound rules in the manager's security group, over "
            f"the {RULES_PER_GROUP} that EC2 allows by default (Amazon VPC quotas, 'Inbound or outbound rules per "
            f"security group'): remove {total - RULES_PER_GROUP} or more, or join neighbouring ports into a range "
            "(from_port and to_port) or networks into a wider CIDR"))


# --- the project: one template for every environment ---------------------------------------------------

def _ordered(env) -> list[EgressRule]:
    return sorted(rules(env), key=lambda rule: (rule.shape, rule.cidr))


def check_same_rules(project) -> None:
    """Every environment lists the same rules but for their CIDRs: the rules are the template's shape."""
    # A file that lists rules is named first: the defaults of a file without the key are in no file.
    environments = sorted(project.environments.values(), key=lambda env: not _given(env))
    for env in environments:
        for other in environments:
            missing = Counter(rule.shape for rule in rules(env)) - Counter(rule.shape for rule in rules(other))
            if missing:
                index, rule = next((i, r) for i, r in enumerate(rules(env)) if r.shape in missing)
                _refuse_difference(env, other, index, rule)


def _refuse_difference(env, other, index: int, rule: EgressRule) -> None:
    shared = ("every environment shares the service template, so each lists the same rules (protocol, ports and "
              "description, once per rule); only cidr may differ")
    if not _given(env):
        raise InputError(str(env.file), KEY, (
            f"missing: {env.name} has the default rules, and {other.file} has no counterpart of the default rule "
            f"{rule.label()}: {shared}. List the rules here too, with this environment's networks"))
    default = "" if _given(other) else f" ({other.name} has no {KEY}, so it has the default rules)"
    raise InputError(str(env.file), f"{KEY}.{index}", (
        f"rule {rule.label()} has no counterpart in {other.file}{default}: {shared}. Add it to {other.name}'s file "
        f"with that environment's network, or remove it here"))


def _given(env) -> bool:
    return "manager_egress" in env.service.model_fields_set


def _slots(project) -> list[tuple[tuple[str, int, int, str], dict[str, str]]]:
    """The template's rules in order: (shape, {environment: cidr})."""
    columns = {name: _ordered(env) for name, env in project.environments.items()}
    first = next(iter(columns.values()))
    return [(rule.shape, {name: column[i].cidr for name, column in columns.items()})
            for i, rule in enumerate(first)]


def _layout(slots) -> list[tuple[tuple[str, int, int, str], str | int]]:
    """Each slot's CIDR in the template: the shared CIDR, or its index in the ManagerEgressCidrs parameter."""
    layout: list[tuple[tuple[str, int, int, str], str | int]] = []
    varying = 0
    for shape, cidrs in slots:
        if len(set(cidrs.values())) == 1:
            layout.append((shape, next(iter(cidrs.values()))))
        else:
            layout.append((shape, varying))
            varying += 1
    return layout


def group_egress(layout: Iterable[tuple[tuple[str, int, int, str], str | int]]) -> list[ec2.SecurityGroupRule]:
    """The manager group's inline egress: herd-cfn's HTTPS rule, then the layout's rules."""
    egress = [cidr_rule(HTTPS, ANYWHERE, "AWS APIs, registries")]
    for (protocol, first, last, description), cidr in layout:
        egress.append(ec2.SecurityGroupRule(
            IpProtocol=protocol, FromPort=first, ToPort=last, Description=description,
            CidrIp=cidr if isinstance(cidr, str) else Select(cidr, Ref(S.MANAGER_EGRESS_CIDRS))))
    return egress


DEFAULT_LAYOUT = [(rule.shape, rule.cidr) for rule in sorted(DEFAULT_MANAGER_EGRESS, key=lambda r: (r.shape, r.cidr))]


def extension(project) -> Extension | None:
    """The project's rules in the service template (None: they are the defaults, which the template has)."""
    slots = _slots(project)
    layout = _layout(slots)
    if layout == DEFAULT_LAYOUT:
        return None
    varying = [cidrs for (_, cidrs), (_, where) in zip(slots, layout, strict=True) if isinstance(where, int)]
    inputs = []
    if varying:
        inputs.append(Input(S.MANAGER_EGRESS_CIDRS, "CIDRs of the manager's egress rules that differ per environment",
                            lambda env: [cidrs[env.name] for cidrs in varying], type="CommaDelimitedList"))

    def build(t: Template) -> None:
        t.resources[S.MANAGER_SG].SecurityGroupEgress = group_egress(layout)

    return Extension("egress:" + repr(layout), inputs, build)


def check_size(project, body: Callable[[Extension | None], str]) -> None:
    """Refuse more rules than the service template can carry, with the numbers. ``body`` renders the service
    template with an egress extension (None: the stack's own template, with the default rules)."""
    made = extension(project)
    if made is None:
        return
    total = len(body(made).encode("utf-8"))
    if total <= MAX_BODY_BYTES:
        return
    first = next(iter(project.environments.values()))
    count = len(rules(first))
    empty = Extension("egress:none", made.inputs, lambda t: setattr(t.resources[S.MANAGER_SG], "SecurityGroupEgress",
                                                                     group_egress([])))
    base = len(body(empty).encode("utf-8"))
    each = math.ceil((total - base) / max(count, 1))
    raise InputError(str(first.file), KEY, (
        f"{count} rules make the service template {total:,} bytes, over CloudFormation's {MAX_BODY_BYTES:,}-byte "
        f"limit: without them it is {base:,} bytes, and they take about {each:,} each (shorter descriptions cost "
        f"less); remove {math.ceil((total - MAX_BODY_BYTES) / each)} or more, or join neighbouring ports into a "
        "range"))
