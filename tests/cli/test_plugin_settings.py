"""Plugin settings (service.manager/keycloak environment and secrets) that the build refuses: one line
naming the file, the key and the rule, exit 2, nothing in output/ touched — through the command line,
on a broken copy of the real parameters/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from herd_cfn import names
from herd_cfn.cli import build_templates_main
from herd_cfn.templates import registry
from herd_cfn.templates.stacks.service import plugins
from tests.cli.test_bad_input import _snapshot

# The service template without plugin settings (the committed one adds the example OR_EMAIL_ADMIN).
BASE_BYTES = len(registry.get(names.SERVICE).template_body().encode("utf-8"))
ACCOUNTS = {"dev": "222222222222", "prod": "333333333333"}


def secret_arn(env: str, suffix: str = "") -> str:
    return f"arn:aws:secretsmanager:eu-west-1:{ACCOUNTS[env]}:secret:herd/acme-AbCdEf{suffix}"


def _put(envs: tuple[str, ...], container: str, kind: str, entries: dict[str, str | Callable[[str], str]]):
    """Add ``entries`` to service.<container>.<kind> of each environment file (a callable value gets the env)."""
    def apply(params: Path) -> None:
        for env in envs:
            path = params / f"{env}.json"
            data = json.loads(path.read_text())
            section = data["service"][container].setdefault(kind, {})
            section.update({k: v(env) if callable(v) else v for k, v in entries.items()})
            path.write_text(json.dumps(data, indent=2))
    return apply


def both(container: str, kind: str, **entries) -> Callable[[Path], None]:
    return _put(("dev", "prod"), container, kind, entries)


def dev(container: str, kind: str, **entries) -> Callable[[Path], None]:
    return _put(("dev",), container, kind, entries)


def many(count: int) -> Callable[[Path], None]:
    entries = {f"HERD_PLUGIN_SETTING_WITH_A_LONG_NAME_{i:03d}": "x" for i in range(count)}
    return _put(("dev", "prod"), "manager", "environment", entries)


def chain(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(params: Path) -> None:
        for step in steps:
            step(params)
    return apply


# (id, how to break parameters/, fragments the one error line must contain)
CASES = [
    ("reserved-hostname", both("manager", "environment", OR_HOSTNAME="x.example.com"),
     ["dev.json", "service.manager.environment.OR_HOSTNAME", "herd-cfn sets OR_HOSTNAME itself", "domain"]),
    ("reserved-db-prefix", both("manager", "environment", OR_DB_POOL_MAX_SIZE="30"),
     ["service.manager.environment.OR_DB_POOL_MAX_SIZE", "PostgreSQL"]),
    ("reserved-setup-type", both("manager", "environment", OR_SETUP_TYPE="demo"),
     ["OR_SETUP_TYPE", "service.setup_type"]),
    ("reserved-run-on-restart", both("manager", "environment", OR_SETUP_RUN_ON_RESTART="true"),
     ["OR_SETUP_RUN_ON_RESTART", "wipes the database"]),
    ("reserved-email", both("manager", "environment", OR_EMAIL_HOST="smtp.example.com"),
     ["OR_EMAIL_HOST", "service.email_secret_arn"]),
    ("reserved-as-secret", both("manager", "secrets", OR_ADMIN_PASSWORD=secret_arn),
     ["service.manager.secrets.OR_ADMIN_PASSWORD", "admin secret"]),
    ("reserved-keycloak-admin", both("keycloak", "environment", KEYCLOAK_ADMIN="root"),
     ["service.keycloak.environment.KEYCLOAK_ADMIN", "admin secret"]),
    ("reserved-kc-hostname", both("keycloak", "environment", KC_HOSTNAME_STRICT="false"),
     ["service.keycloak.environment.KC_HOSTNAME_STRICT", "domain"]),
    ("reserved-kc-db", both("keycloak", "secrets", KC_DB_PASSWORD=secret_arn),
     ["service.keycloak.secrets.KC_DB_PASSWORD", "PostgreSQL"]),
    ("reserved-tz", both("keycloak", "environment", TZ="UTC"), ["TZ", "service.time_zone"]),
    ("bad-name-digit", both("manager", "environment", **{"1FOO": "x"}),
     ["service.manager.environment.1FOO", "not a valid environment variable name"]),
    ("bad-name-dash", both("manager", "secrets", **{"ACME-KEY": secret_arn}),
     ["service.manager.secrets.ACME-KEY", "not a valid environment variable name"]),
    ("name-too-long", both("manager", "environment", **{"HERD_" + "X" * 250: "1"}),
     ["service.manager.environment.HERD_XXX", "too long", "255-character limit"]),
    ("secret-by-name", both("manager", "environment", ACME_API_KEY="abc"),
     ["service.manager.environment.ACME_API_KEY", "name says secret", "service.manager.secrets"]),
    ("secret-by-name-password", both("keycloak", "environment", KC_SPI_SMTP_PASSWORD="abc"),
     ["service.keycloak.environment.KC_SPI_SMTP_PASSWORD", "name says secret", "service.keycloak.secrets"]),
    ("access-key-value", both("manager", "environment", HERD_AWS_ID="AKIAIOSFODNN7EXAMPLE"),
     ["HERD_AWS_ID", "an AWS access key id", "service.manager.secrets"]),
    ("pem-value", both("manager", "environment", HERD_CERT="-----BEGIN PRIVATE KEY-----MIIEv"),
     ["HERD_CERT", "a PEM block"]),
    ("random-value", both("manager", "environment", HERD_WEBHOOK="niOtIRFKy+fJwuqwNbvrNUgPAaC/Qjfeta7pwrCl"),
     ["HERD_WEBHOOK", "a long random string (40 characters)"]),
    ("hex-value", both("manager", "environment", HERD_SIGNING="754d34ffd1c0aa009f77a1813298b2f9a27b16c2"),
     ["HERD_SIGNING", "a long random string"]),
    ("line-break", both("manager", "environment", HERD_NOTE="one\ntwo"), ["HERD_NOTE", "control characters"]),
    ("number-value", both("manager", "environment", HERD_PLUGIN_PORT=8080),
     ["service.manager.environment.HERD_PLUGIN_PORT", "valid string", "got number 8080"]),
    ("only-in-dev", dev("manager", "environment", HERD_PLUGIN_LOG_LEVEL="DEBUG"),
     ["dev.json", "service.manager.environment.HERD_PLUGIN_LOG_LEVEL", "set only in dev",
      "add it to", "prod.json too, empty if unused"]),
    ("only-in-prod", _put(("prod",), "keycloak", "secrets", {"KC_SPI_X": lambda env: secret_arn(env)}),
     ["prod.json", "service.keycloak.secrets.KC_SPI_X", "set only in prod", "dev.json too, empty if unused"]),
    ("secret-in-environment-here-secrets-there",
     chain(dev("manager", "environment", HERD_X="1"), _put(("prod",), "manager", "secrets", {"HERD_X": secret_arn})),
     ["dev.json", "service.manager.environment.HERD_X", "set only in dev", "prod.json too"]),
    ("secret-not-an-arn", both("manager", "secrets", ACME_KEY="herd/acme"),
     ["service.manager.secrets.ACME_KEY", "complete Secrets Manager secret ARN", "got 'herd/acme'"]),
    ("secret-partial-arn", both("manager", "secrets",
                                ACME_KEY="arn:aws:secretsmanager:eu-west-1:222222222222:secret:herd/acme"),
     ["service.manager.secrets.ACME_KEY", "complete Secrets Manager secret ARN"]),
    ("secret-other-account", both("manager", "secrets", ACME_KEY=lambda env: secret_arn("dev")),
     ["prod.json", "service.manager.secrets.ACME_KEY", "in account 222222222222", "333333333333"]),
    ("in-environment-and-secrets",
     chain(both("manager", "environment", HERD_X="1"), both("manager", "secrets", HERD_X=secret_arn)),
     ["service.manager.secrets.HERD_X", "also in service.manager.environment"]),
    ("parameter-name-clash", both("manager", "environment", HERD_LEVEL="1", HERDLEVEL="2"),
     ["service.manager.environment.HERDLEVEL", "clashes with 'HERD_LEVEL'", "MEnvHERDLEVEL"]),
    ("parameter-is-a-condition", both("manager", "environment", HERD="1", HERDEmpty="2"),
     ["service.manager.environment.HERDEmpty", "clashes with 'HERD'"]),
    ("too-many-for-the-template", many(60),
     # 61: these and the committed OR_EMAIL_ADMIN
     ["dev.json", "service.manager/keycloak environment and secrets", "61 plugin settings",
      "over CloudFormation's 51,200-byte limit", "which leaves", "remove"]),
]


@pytest.mark.parametrize(("case", "breaks", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refused_with_one_line_exit_2_nothing_written(project_copy, capsys, case, breaks, expected):
    params, output = project_copy / "parameters", project_copy / "output"
    breaks(params)
    (output / "templates" / "service.yaml").write_text("stale\n")
    before = _snapshot(output)

    code = build_templates_main(["--parameters-dir", str(params), "--output-dir", str(output)])

    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert code == 2
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert captured.out == ""
    assert _snapshot(output) == before


def test_the_size_refusal_gives_the_budget_in_numbers(project_copy, capsys):
    many(60)(project_copy / "parameters")
    assert build_templates_main(["--parameters-dir", str(project_copy / "parameters"),
                                 "--output-dir", str(project_copy / "output")]) == 2
    line = capsys.readouterr().err
    found = re.search(r"template ([\d,]+) bytes, .* it is ([\d,]+) bytes, which leaves ([\d,]+) bytes, "
                      r"and these take ([\d,]+) \(about ([\d,]+) each.*remove (\d+) or more", line)
    assert found, line
    total, base, left, used, each, remove = (int(n.replace(",", "")) for n in found.groups())
    assert base == BASE_BYTES
    assert total > plugins.MAX_BODY_BYTES and left == plugins.MAX_BODY_BYTES - base and used == total - base
    assert total - remove * each <= plugins.MAX_BODY_BYTES < total - (remove - 1) * each


def test_the_budget_is_the_real_limit(project_copy, capsys):
    """As many settings as the measured cost says fit are accepted, leaving the template just under
    the limit, and one more is refused: the refusal measures the template, it does not guess."""
    params, output = project_copy / "parameters", project_copy / "output"
    args = ["--parameters-dir", str(params), "--output-dir", str(output)]

    def size_with(count: int) -> int:
        many(count)(params)  # adds to what is there: the names are numbered from 0
        assert build_templates_main([*args, "--stack", "service"]) == 0
        return len((output / "templates" / "service.yaml").read_bytes())

    two = size_with(2)
    each = (size_with(4) - two) // 2  # the names many() makes are alike, so each costs the same
    fits = 2 + (plugins.MAX_BODY_BYTES - two) // each
    size = size_with(fits)
    assert plugins.MAX_BODY_BYTES - each < size <= plugins.MAX_BODY_BYTES
    many(fits + 1)(params)
    assert build_templates_main(args) == 2
    assert f"{fits + 2} plugin settings make the service template" in capsys.readouterr().err


def test_parameter_quota_refusal_names_the_numbers(project_copy):
    """CloudFormation's 200 parameters: with today's template the byte limit is reached first (a
    setting costs far more than 51,200 / 200 bytes), so this rule is checked directly."""
    from herd_cfn.errors import InputError
    from herd_cfn.templates.registry import load_project

    both("manager", "environment", HERD_A="1")(project_copy / "parameters")
    project = load_project(project_copy / "parameters")
    with pytest.raises(InputError) as caught:
        plugins.check_limits(project, "x" * 200, 203, lambda: "x" * 100)
    assert "make 203 template parameters, over CloudFormation's 200: remove 3 or more" in str(caught.value)
