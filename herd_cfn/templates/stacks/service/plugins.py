"""The client's plugin settings: ``service.manager`` and ``service.keycloak`` ``environment`` (name ->
value) and ``secrets`` (name -> secret or SSM parameter ARN) in each environment's parameters file.

The template stays one for every environment: each name is a parameter of the service template, so
every environment must list the same names (values differ; an empty value means "not set", and a
condition per name leaves it out of the container). Why empty = absent rather than an empty
variable: "empty if unused" is how a name that only one environment needs is written, and a variable
that is unset is what such an environment means; OpenRemote falls back to its default only when a
setting is absent, and an empty secret reference is no reference at all (ECS refuses it).

Secrets go to the container's ``Secrets`` only. The execution role (ECS's agent fetches secrets with it
at task start; the containers never get its credentials) may read exactly the environment's plugin
secrets: two comma-separated parameters carry their IAM resources, derived here from the same values
so that they cannot drift apart. No kms:Decrypt: secrets under the AWS managed keys (aws/secretsmanager,
aws/ssm) need none; a customer managed key must grant the execution role in its key policy.

The manager's ECS service (CODE_DEPLOY) references none of this: only its task definition, a new
revision of the herd-manager family, changes, and the next pipeline run deploys it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator

from troposphere import Equals, If, Not, NoValue, Ref, Split, Template, ecs

from herd_cfn import names
from herd_cfn.errors import InputError
from herd_cfn.templates.base import Extension, Input

S = names.Service
CONTAINERS = ("manager", "keycloak")
KINDS = ("environment", "secrets")
TASKS = {"manager": S.MANAGER_TASK, "keycloak": S.KEYCLOAK_TASK}

# CloudFormation quotas: parameters per template and a parameter value's size.
MAX_PARAMETERS = 200
MAX_VALUE_BYTES = 4096
MAX_BODY_BYTES = 51_200
MAX_LOGICAL_ID = 255

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Names herd-cfn sets (tasks.py) or that must not change on this platform, and what to use instead.
_SHARED = (
    (r"TZ", "herd-cfn sets it from service.time_zone"),
    (r"ECS_.*", "ECS sets ECS_* in every task"),
    (r"AWS_CONTAINER_.*", "ECS passes the task role's credentials through AWS_CONTAINER_*"),
)
RESERVED: dict[str, tuple[tuple[str, str], ...]] = {
    "manager": (
        *_SHARED,
        (r"OR_HOSTNAME", "herd-cfn sets it from domain"),
        (r"OR_SETUP_TYPE", "herd-cfn sets it from service.setup_type"),
        (r"OR_EMAIL_(HOST|USER|PASSWORD|PORT|FROM|TLS)",
         "herd-cfn sets it from service.email_secret_arn (a secret with JSON keys host, port, user, password, from)"),
        (r"OR_DB_.*", "herd-cfn connects the manager to its PostgreSQL (the data stack's database secret); "
                      "pool sizes are sized against PostgreSQL's max_connections"),
        (r"OR_ADMIN_PASSWORD", "herd-cfn passes the data stack's admin secret (Keycloak's admin password must "
                               "match it)"),
        (r"OR_KEYCLOAK_.*", "herd-cfn points the manager at its Keycloak service"),
        (r"OR_DEV_MODE", "always false here: dev mode serves /auth itself and wipes the database at start"),
        (r"OR_SETUP_RUN_ON_RESTART", "always false here: true wipes the database at every start"),
        (r"OR_SSL_PORT", "the load balancer serves HTTPS on 443; herd-cfn sets it"),
        (r"OR_STORAGE_DIR", "herd-cfn mounts the EFS /storage there"),
        (r"OR_METRICS_ENABLED", "herd-cfn enables it"),
    ),
    "keycloak": (
        *_SHARED,
        (r"KC_HOSTNAME.*", "herd-cfn sets it from domain"),
        (r"KC_DB.*", "herd-cfn connects Keycloak to its PostgreSQL (the data stack's database secret)"),
        (r"KC_PROXY.*", "the load balancer terminates TLS; herd-cfn sets the proxy headers Keycloak trusts"),
        (r"KC_HTTP_RELATIVE_PATH", "the load balancer routes /auth to Keycloak and OpenRemote expects it there"),
        (r"KEYCLOAK_.*|KC_BOOTSTRAP_ADMIN_.*", "herd-cfn passes the data stack's admin secret"),
    ),
}

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
ACCESS_KEY = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
HEX = re.compile(r"(?=.*[0-9])(?=.*[a-fA-F])[0-9a-fA-F]{40,}")  # digits and letters: a digest or a key
MIN_TOKEN_ENTROPY = 4.3  # bits per character: random base64/alphanumeric; words, paths and UUIDs stay below

SECRET_REF = re.compile(
    r"(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:(\d{12}):secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})"
    r"(:[^:\s]*:[^:\s]*:[^:\s]*)?")
PARAMETER_REF = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:(\d{12}):parameter/[A-Za-z0-9_.-][A-Za-z0-9_./-]*")
SECRET_REF_EXAMPLE = ("a complete Secrets Manager secret ARN (arn:aws:secretsmanager:eu-west-1:123456789012:"
                      "secret:name-AbCdEf), optionally with a JSON key (…-AbCdEf:jsonkey::), or an SSM "
                      "parameter ARN (arn:aws:ssm:eu-west-1:123456789012:parameter/name); empty = not set")


def parameter_name(container: str, kind: str, name: str) -> str:
    return S.PLUGIN_PREFIXES[(container, kind)] + name.replace("_", "")


def condition_name(container: str, kind: str, name: str) -> str:
    return parameter_name(container, kind, name) + S.PLUGIN_EMPTY_SUFFIX


def settings(env, container: str, kind: str) -> dict[str, str]:
    return getattr(getattr(env.service, container), kind)


def _key(container: str, kind: str, name: str | None = None) -> str:
    return f"service.{container}.{kind}" + (f".{name}" if name is not None else "")


# --- one environment ---------------------------------------------------------------------------------

def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_shape(value: str) -> str | None:
    """What makes ``value`` look like a secret, or None."""
    if ACCESS_KEY.search(value):
        return "an AWS access key id"
    if PEM.search(value):
        return "a PEM block (key or certificate)"
    for token in TOKEN.findall(value):
        if HEX.fullmatch(token) or entropy(token) >= MIN_TOKEN_ENTROPY:
            return f"a long random string ({len(token)} characters)"
    return None


def reserved(container: str, name: str) -> str | None:
    for pattern, hint in RESERVED[container]:
        if re.fullmatch(pattern, name):
            return hint
    return None


def _check_name(where: str, container: str, kind: str, name: str) -> None:
    key = _key(container, kind, name)
    if not VARIABLE_NAME.fullmatch(name):
        raise InputError(where, key, "not a valid environment variable name (letters, digits and '_', not "
                                     "starting with a digit)")
    if len(condition_name(container, kind, name)) > MAX_LOGICAL_ID:
        raise InputError(where, key, f"too long: its template parameter and condition would pass CloudFormation's "
                                     f"{MAX_LOGICAL_ID}-character limit for names")
    hint = reserved(container, name)
    if hint:
        raise InputError(where, key, f"herd-cfn sets {name} itself: {hint}")


def _check_value(where: str, container: str, name: str, value: str) -> None:
    key = _key(container, "environment", name)
    move = f"put it in a secret and name it under {_key(container, 'secrets')} instead"
    if SECRET_NAME.search(name):
        raise InputError(where, key, f"the name says secret but plain environment is readable by anyone who can "
                                     f"describe the task definition: {move}")
    shape = secret_shape(value)
    if shape:
        raise InputError(where, key, f"the value looks like {shape}, which must not be in plain environment: {move}")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(where, key, "control characters (e.g. line breaks) are not allowed; keep the value on one "
                                     "line or put multi-line content in a secret")
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise InputError(where, key, f"longer than CloudFormation's {MAX_VALUE_BYTES}-byte parameter value limit")


def iam_resource(reference: str) -> tuple[str, str]:
    """``("secret" | "parameter", ARN the execution role needs)`` of a checked, non-empty reference."""
    match = SECRET_REF.fullmatch(reference)
    if match:
        return "secret", match.group(1)
    return "parameter", reference


def _check_reference(env, container: str, name: str, reference: str) -> None:
    if reference == "":
        return
    key = _key(container, "secrets", name)
    match = SECRET_REF.fullmatch(reference) or PARAMETER_REF.fullmatch(reference)
    if not match:
        raise InputError(str(env.file), key, f"must be {SECRET_REF_EXAMPLE}; got {reference!r}")
    account = match.group(2) if match.re is SECRET_REF else match.group(1)
    if account != env.account_id:
        raise InputError(str(env.file), key, f"in account {account}, not this environment's {env.account_id}: "
                                             "use a secret of this account (another account's secret needs a "
                                             "customer managed KMS key and a resource policy herd-cfn does not set)")


def _check_parameter_names(where: str, container: str, kind: str, entries: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for name in entries:
        made = (parameter_name(container, kind, name), condition_name(container, kind, name))
        clash = next((seen[m.lower()] for m in made if m.lower() in seen), None)
        if clash:
            raise InputError(where, _key(container, kind, name),
                             f"clashes with {clash!r}: CloudFormation parameter names drop '_' (this one is "
                             f"{made[0]}, with condition {made[1]}); rename one")
        seen.update({m.lower(): name for m in made})


def check_environment(env) -> None:
    where = str(env.file)
    for container in CONTAINERS:
        for kind in KINDS:
            entries = settings(env, container, kind)
            for name in entries:
                _check_name(where, container, kind, name)
            _check_parameter_names(where, container, kind, entries)
        for name, value in settings(env, container, "environment").items():
            _check_value(where, container, name, value)
        for name, reference in settings(env, container, "secrets").items():
            _check_reference(env, container, name, reference)
        both = sorted(set(settings(env, container, "environment")) & set(settings(env, container, "secrets")))
        if both:
            raise InputError(where, _key(container, "secrets", both[0]),
                             f"also in {_key(container, 'environment')}: a variable comes from one of the two")


# --- the project ---------------------------------------------------------------------------------------

def check_same_names(project) -> None:
    """Every environment lists the same names: they are the template's parameters."""
    environments = list(project.environments.values())
    for env in environments:
        for other in environments:
            for container in CONTAINERS:
                for kind in KINDS:
                    missing = sorted(set(settings(env, container, kind)) - set(settings(other, container, kind)))
                    if missing:
                        raise InputError(
                            str(env.file), _key(container, kind, missing[0]),
                            f"set only in {env.name}, but every environment shares the service template and so "
                            f"its names: add it to {other.file} too, empty if unused")


def declared(project) -> list[tuple[str, str, str]]:
    """``(container, kind, name)`` of every plugin setting, in template order (names are the same everywhere)."""
    first = next(iter(project.environments.values()))
    return [(container, kind, name) for container in CONTAINERS for kind in KINDS
            for name in sorted(settings(first, container, kind))]


def _secret_arns(env, wanted: str) -> str:
    found = {iam_resource(ref) for container in CONTAINERS for ref in settings(env, container, "secrets").values()
             if ref}
    return ",".join(sorted(arn for kind, arn in found if kind == wanted))


def _input(container: str, kind: str, name: str) -> Input:
    # The name alone: the parameter's prefix says container and kind, and every byte counts.
    return Input(parameter_name(container, kind, name), name, lambda env: settings(env, container, kind)[name])


def _role_inputs() -> list[Input]:
    return [
        Input(S.PLUGIN_SECRET_ARNS, "Plugin secret ARNs (execution role)",
              lambda env: _secret_arns(env, "secret")),
        Input(S.PLUGIN_PARAMETER_ARNS, "Plugin SSM parameter ARNs (execution role)",
              lambda env: _secret_arns(env, "parameter")),
    ]


def extension(project) -> Extension | None:
    """The plugin settings' part of the service template for this project (None: there are none)."""
    settings_ = declared(project)
    if not settings_:
        return None
    inputs = [_input(*setting) for setting in settings_]
    has_secrets = any(kind == "secrets" for _, kind, _ in settings_)
    if has_secrets:
        inputs += _role_inputs()
    key = "|".join(".".join(setting) for setting in settings_)

    def build(t: Template) -> None:
        _add(t, settings_, has_secrets)

    return Extension(key, inputs, build)


def _entries(container: str, settings_: list[tuple[str, str, str]], kind: str) -> Iterator[If]:
    for owner, of_kind, name in settings_:
        if (owner, of_kind) != (container, kind):
            continue
        parameter = Ref(parameter_name(container, kind, name))
        entry = ecs.Environment(Name=name, Value=parameter) if kind == "environment" else \
            ecs.Secret(Name=name, ValueFrom=parameter)
        yield If(condition_name(container, kind, name), NoValue, entry)


def _add(t: Template, settings_: list[tuple[str, str, str]], has_secrets: bool) -> None:
    for container, kind, name in settings_:
        t.add_condition(condition_name(container, kind, name), Equals(Ref(parameter_name(container, kind, name)), ""))
    for container in CONTAINERS:
        (definition,) = t.resources[TASKS[container]].ContainerDefinitions
        environment = list(_entries(container, settings_, "environment"))
        secrets = list(_entries(container, settings_, "secrets"))
        if environment:
            definition.Environment = [*definition.Environment, *environment]
        if secrets:
            definition.Secrets = [*definition.Secrets, *secrets]
    if has_secrets:
        _grant(t)


def _grant(t: Template) -> None:
    """The execution role reads exactly the environment's plugin secrets (none: no statement)."""
    statements = t.resources[S.EXECUTION_ROLE].Policies[0].PolicyDocument.Statement
    for condition, parameter, action in ((S.HAS_PLUGIN_SECRETS, S.PLUGIN_SECRET_ARNS, "secretsmanager:GetSecretValue"),
                                         (S.HAS_PLUGIN_PARAMETERS, S.PLUGIN_PARAMETER_ARNS, "ssm:GetParameters")):
        t.add_condition(condition, Not(Equals(Ref(parameter), "")))
        statements.append(If(condition, {"Effect": "Allow", "Action": [action],
                                         "Resource": Split(",", Ref(parameter))}, NoValue))


# --- the template's limits -----------------------------------------------------------------------------

def check_limits(project, project_body: str, parameters: int, base_body: Callable[[], str]) -> None:
    """Refuse more settings than the service template can carry, with the numbers (``base_body``, the
    template without them, is only rendered for the message)."""
    settings_ = declared(project)
    total = len(project_body.encode("utf-8"))
    if not settings_ or (total <= MAX_BODY_BYTES and parameters <= MAX_PARAMETERS):
        return
    first = next(iter(project.environments.values()))
    where, key = str(first.file), "service.manager/keycloak environment and secrets"
    if total > MAX_BODY_BYTES:
        base = len(base_body().encode("utf-8"))
        used = total - base
        each = math.ceil(used / len(settings_))
        raise InputError(where, key, (
            f"{len(settings_)} plugin settings make the service template {total:,} bytes, over CloudFormation's "
            f"{MAX_BODY_BYTES:,}-byte limit: without them it is {base:,} bytes, which leaves {MAX_BODY_BYTES - base:,} "
            f"bytes, and these take {used:,} (about {each:,} each; shorter names cost less); remove "
            f"{math.ceil((total - MAX_BODY_BYTES) / each)} or more"))
    raise InputError(where, key, (
        f"{len(settings_)} plugin settings make {parameters} template parameters, over CloudFormation's "
        f"{MAX_PARAMETERS}: remove {parameters - MAX_PARAMETERS} or more"))
