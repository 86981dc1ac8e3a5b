"""Bad parameters files and build options, through the real command line (``build_templates_main``): one
``error:`` line naming the file (or flag), the key and the rule; exit 2; nothing written to output/."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from pathlib import Path

import pytest

from herd_cfn.cli import build_templates_main, main
from tests.cli.test_bad_input import _delete, _edit, _set, _snapshot

LONG_IMAGE = "openremote/" + "m" * 5000 + ":1.28.1"


def _duplicate_key(params: Path) -> None:
    path = params / "dev.json"
    text = path.read_text()
    path.write_text(text.replace('"region": "eu-west-1",', '"region": "eu-west-1",\n  "region": "eu-west-2",', 1))


def _rename(file: str, section: str, old: str, new: str) -> Callable[[Path], None]:
    return _edit(file, lambda d: d[section].update({new: d[section].pop(old)}))


def _egress(*rules: dict, files: tuple[str, ...] = ("dev.json",), **service: object) -> Callable[[Path], None]:
    """service.manager_egress (and other service keys) set to the same value in each of ``files``."""
    def apply(params: Path) -> None:
        for file in files:
            _edit(file, lambda d: d["service"].update({"manager_egress": list(rules), **service}))(params)
    return apply


def _port_rule(port: int, **changes: object) -> dict:
    return {"protocol": "tcp", "port": port, "cidr": "10.50.0.0/16", "description": "site", **changes}


BOTH = ("dev.json", "prod.json")
SECRET = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:herd/smtp-AbCdEf"
EGRESS_KEY = "service.manager_egress"

# (id, how to break parameters/, substrings of the one error line)
CASES = [
    ("duplicate-key", _duplicate_key, ["dev.json", "region", "key given twice"]),
    ("image-too-long", _set("dev.json", "service.manager_image", LONG_IMAGE),
     ["dev.json", "service.manager_image", "at most 255 characters", "ECS", "got 5,018"]),
    ("image-name-too-long-before-digest",
     _set("dev.json", "service.keycloak_image", "a" * 256 + "@sha256:" + "0" * 64),
     ["dev.json", "service.keycloak_image", "at most 255 characters before any '@sha256:' digest"]),
    ("image-bad-character", _set("dev.json", "service.postgres_image", "openremote/postgresql:17 9"),
     ["dev.json", "service.postgres_image", "may contain only letters, digits", "' ' is not allowed"]),
    ("branch-too-long", _set("prod.json", "pipeline.branch", "b" * 256),
     ["prod.json", "pipeline.branch", "at most 255 characters", "CodePipeline"]),
    ("domain-too-long-for-a-requested-certificate",
     _set("dev.json", "domain", "a" * 60 + ".herd-itt.com"),
     ["dev.json", "domain", "at most 64 characters when the stack requests the certificate"]),
    ("same-branch-twice", _set("prod.json", "pipeline.branch", "dev"),
     ["prod.json", "pipeline.branch", "'dev' of herd-itt/openremote-custom already deploys environment 'dev'"]),
    ("same-domain-twice", _set("prod.json", "domain", "platform-dev.herd-itt.com"),
     ["prod.json", "domain", "collides with environment 'dev'"]),
    ("domain-is-the-others-mqtt-name", _set("prod.json", "domain", "mqtt.platform-dev.herd-itt.com"),
     ["prod.json", "domain", "collides with environment 'dev'"]),
    ("docker-hub-cache-secret-not-an-arn", _set("dev.json", "data.docker_hub_cache_secret_arn", "docker-hub"),
     ["dev.json", "data.docker_hub_cache_secret_arn", "must look like arn:aws:secretsmanager:", "complete ARN"]),
    ("docker-hub-cache-secret-without-the-ecr-prefix",
     _set("dev.json", "data.docker_hub_cache_secret_arn",
          "arn:aws:secretsmanager:eu-west-1:222222222222:secret:dockerhub-AbCdEf"),
     ["dev.json", "data.docker_hub_cache_secret_arn", "must start with 'ecr-pullthroughcache/'", "'dockerhub-AbCdEf'"]),
    ("docker-hub-cache-secret-of-another-account",
     _set("prod.json", "data.docker_hub_cache_secret_arn",
          "arn:aws:secretsmanager:eu-west-1:222222222222:secret:ecr-pullthroughcache/docker-hub-AbCdEf"),
     ["prod.json", "data.docker_hub_cache_secret_arn", "account 333333333333 and region eu-west-1",
      "got account 222222222222"]),
    ("docker-hub-cache-secret-of-another-region",
     _set("dev.json", "data.docker_hub_cache_secret_arn",
          "arn:aws:secretsmanager:eu-central-1:222222222222:secret:ecr-pullthroughcache/docker-hub-AbCdEf"),
     ["dev.json", "data.docker_hub_cache_secret_arn", "region eu-west-1", "region eu-central-1"]),
    ("admin-cidr-world-open", _set("dev.json", "edge.admin_cidr", "0.0.0.0/0"),
     ["dev.json", "edge.admin_cidr", "to the whole internet"]),
    ("admin-cidr-world-open-ipv6", _set("dev.json", "edge.admin_cidr", "::/0"),
     ["dev.json", "edge.admin_cidr", "to the whole internet"]),
    ("admin-cidr-too-wide", _set("dev.json", "edge.admin_cidr", "0.0.0.0/1"),
     ["dev.json", "edge.admin_cidr", "a large part of the internet", "/8 or narrower"]),
    ("admin-cidr-without-prefix", _set("dev.json", "edge.admin_cidr", "203.0.113.5"),
     ["dev.json", "edge.admin_cidr", "needs a prefix length", "203.0.113.5/32 for this one address"]),
    ("repository-with-git-suffix", _set("dev.json", "pipeline.repository", "herd-itt/openremote-custom.git"),
     ["dev.json", "pipeline.repository", "GitHub expects the repository as owner/name"]),
    ("repository-as-url", _set("dev.json", "pipeline.repository", "https://github.com/herd-itt/openremote-custom"),
     ["dev.json", "pipeline.repository", "owner/name"]),
    ("renamed-key", _rename("dev.json", "network", "vpc_cidr", "vpc_cdir"),
     ["dev.json", "network.vpc_cdir", "unknown key; did you mean 'vpc_cidr'? (that key is missing)"]),
    ("renamed-nested-key", _rename("prod.json", "edge", "admin_cidr", "admin_cdir"),
     ["prod.json", "edge.admin_cdir", "unknown key; did you mean 'admin_cidr'?"]),
    ("missing-key-still-said", _delete("dev.json", "network.vpc_cidr"),
     ["dev.json", "network.vpc_cidr", "required key is missing"]),
    # The manager's egress (service.manager_egress): one rule, one file, one key.
    ("egress-invalid-cidr", _egress(_port_rule(502, cidr="10.50.0.300/16")),
     ["dev.json", f"{EGRESS_KEY}.0.cidr", "must be an IPv4 network in CIDR notation"]),
    ("egress-cidr-with-host-bits", _egress(_port_rule(502, cidr="10.50.1.0/8")),
     ["dev.json", f"{EGRESS_KEY}.0.cidr", "10.50.1.0/8 has host bits set: the network is 10.0.0.0/8"]),
    ("egress-cidr-without-prefix", _egress(_port_rule(502, cidr="203.0.113.5")),
     ["dev.json", f"{EGRESS_KEY}.0.cidr", "needs a prefix length", "203.0.113.5/32"]),
    ("egress-cidr-ipv6", _egress(_port_rule(502, cidr="2001:db8::/32")),
     ["dev.json", f"{EGRESS_KEY}.0.cidr", "must be an IPv4 network", "IPv4 only"]),
    ("egress-port-out-of-range", _egress(_port_rule(70000)),
     ["dev.json", f"{EGRESS_KEY}.0.port", "port 70000 is out of range", "0 to 65535"]),
    ("egress-port-as-string", _egress(_port_rule("502")),
     ["dev.json", f"{EGRESS_KEY}.0.port", "wrong type"]),
    ("egress-from-above-to", _egress({**_port_rule(0), "port": None, "from_port": 600, "to_port": 500}),
     ["dev.json", f"{EGRESS_KEY}.0", "from_port 600 is above to_port 500"]),
    ("egress-port-and-range", _egress({**_port_rule(502), "from_port": 500, "to_port": 510}),
     ["dev.json", f"{EGRESS_KEY}.0", "give either port or from_port and to_port, not both"]),
    ("egress-no-port", _egress({k: v for k, v in _port_rule(502).items() if k != "port"}),
     ["dev.json", f"{EGRESS_KEY}.0", "give port, or both from_port and to_port"]),
    ("egress-unknown-protocol", _egress(_port_rule(502, protocol="icmp")),
     ["dev.json", f"{EGRESS_KEY}.0.protocol", "unknown protocol 'icmp'", "'tcp' or 'udp'"]),
    ("egress-description-character", _egress(_port_rule(502, description="Modbus <site>")),
     ["dev.json", f"{EGRESS_KEY}.0.description", "'<' is not allowed"]),
    ("egress-duplicate-rule", _egress(_port_rule(502), _port_rule(502, description="again")),
     ["dev.json", f"{EGRESS_KEY}.1", "rule tcp 502 to 10.50.0.0/16 ('again') repeats rule 0", "remove one"]),
    ("egress-duplicate-of-https", _egress(_port_rule(443, cidr="0.0.0.0/0")),
     ["dev.json", f"{EGRESS_KEY}.0", "is already there: herd-cfn always allows it"]),
    ("egress-duplicate-of-smtp", _egress(_port_rule(587, cidr="0.0.0.0/0"), files=BOTH, email_secret_arn=SECRET),
     ["dev.json", f"{EGRESS_KEY}.0", "already there: herd-cfn allows it because service.email_secret_arn is set"]),
    ("egress-too-many-rules", _egress(*[_port_rule(10000 + i) for i in range(58)]),
     ["dev.json", EGRESS_KEY, "58 rules and herd-cfn's own 3", "make 61 outbound rules", "over the 60",
      "remove 1 or more"]),
    ("egress-too-many-rules-with-smtp",
     _egress(*[_port_rule(10000 + i) for i in range(57)], files=BOTH, email_secret_arn=SECRET),
     ["dev.json", EGRESS_KEY, "herd-cfn's own 4 (HTTPS to AWS, Keycloak, PostgreSQL, SMTP) make 61"]),
    # Within the rule quota, but long descriptions: each is written into the template.
    ("egress-too-big-for-the-template",
     _egress(*[_port_rule(10000 + i, description=f"site {i} " + "x" * 240) for i in range(57)], files=BOTH),
     ["dev.json", EGRESS_KEY, "57 rules make the service template", "over CloudFormation's 51,200-byte limit"]),
    ("egress-differs-between-environments",
     _egress(_port_rule(502), files=("prod.json",)),
     ["prod.json", f"{EGRESS_KEY}.0", "rule tcp 502 to 10.50.0.0/16 ('site') has no counterpart in",
      "dev has no service.manager_egress, so it has the default rules", "only cidr may differ"]),
    ("egress-defaults-not-listed-elsewhere",
     _egress(_port_rule(80, cidr="0.0.0.0/0", description="HTTP (HTTP, WebSocket, LoRaWAN agents)"),
             files=("prod.json",)),
     ["dev.json", f"{EGRESS_KEY}: missing: dev has the default rules", "no counterpart of the default rule tcp 502",
      "List the rules here too"]),
]


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def _build(project: Path, *extra: str) -> int:
    return build_templates_main(["--parameters-dir", str(project / "parameters"),
                                 "--output-dir", str(project / "output"), *extra])


def _make_stale(project: Path) -> dict[str, bytes]:
    # A build that wrongly went ahead would be seen rewriting this file.
    (project / "output" / "templates" / "network.yaml").write_text("stale\n")
    return _snapshot(project / "output")


@pytest.mark.parametrize(("case", "breaks", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refused_in_one_line_and_nothing_written(project_copy, capsys, case, breaks, expected):
    breaks(project_copy / "parameters")
    before = _make_stale(project_copy)
    assert _build(project_copy) == 2
    line = _one_error_line(capsys)
    for fragment in expected:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert _snapshot(project_copy / "output") == before


def test_unreadable_parameters_file(project_copy, capsys, monkeypatch):
    """chmod 000 does not stop root (the tests may run as root), so reading the file is made to fail as it
    does for another user: PermissionError from the read."""
    target = project_copy / "parameters" / "prod.json"
    original = pathlib.Path.read_text

    def read_text(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    before = _make_stale(project_copy)
    assert _build(project_copy) == 2
    assert _one_error_line(capsys) == f"error: {target}: cannot read the file: Permission denied"
    assert _snapshot(project_copy / "output") == before


@pytest.mark.parametrize("where", ["file", "below-a-file"])
def test_output_dir_that_is_a_file(project_copy, capsys, where):
    a_file = project_copy / "not-a-dir"
    a_file.write_text("x")
    target = a_file if where == "file" else a_file / "output"
    assert build_templates_main(["--parameters-dir", str(project_copy / "parameters"),
                                 "--output-dir", str(target)]) == 2
    line = _one_error_line(capsys)
    assert "argument --output-dir" in line and "expected a directory" in line
    assert a_file.read_text() == "x"
    assert main(["build", "--parameters-dir", str(project_copy / "parameters"), "--output-dir", str(target)]) == 2
    assert "--output-dir" in _one_error_line(capsys)


def test_duplicate_key_in_project_file(project_copy, capsys):
    path = project_copy / "parameters" / "project.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data)[:-1] + ', "environments": ["dev"]}')
    assert _build(project_copy) == 2
    line = _one_error_line(capsys)
    assert "project.json: environments: key given twice" in line
