"""Bad input to every AWS command (bootstrap, rollout, deploy, status, restore, doctor), through the real
command line: one ``error:`` line naming the flag (or file), the key and the rule; exit 2; no AWS call that
changes anything (``recording()``), and here none at all: each case is refused before the first call; and
nothing in output/ touched."""

from __future__ import annotations

import io

import pytest

from herd_cfn import cli
from herd_cfn.operations import aws as herd_aws
from tests.cli.test_bad_input import _snapshot
from tests.rollout_support import DEV, PROD, aws_args

NEVER_REACHED = "http://127.0.0.1:9"  # discard port: a call that got this far would fail differently
POINT = f"arn:aws:backup:eu-west-1:{DEV}:recovery-point:1a2b3c4d-5678-90ab-cdef-1234567890ab"


def _paths(project) -> list[str]:
    return ["--parameters-dir", str(project / "parameters"), "--output-dir", str(project / "output")]


def _refused(capsys, project, argv: list[str], *fragments: str) -> herd_aws.CallRecorder:
    before = _snapshot(project / "output")
    with herd_aws.recording() as calls:
        code = cli.main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line]
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert calls.mutating == []
    assert _snapshot(project / "output") == before
    return calls


# (id, command line after the paths, fragments of the error line)
CASES = [
    # bootstrap
    ("bootstrap-print-local", ["bootstrap", "--print", "--local"], ["--local", "--print only prints commands"]),
    ("bootstrap-print-plan", ["bootstrap", "--print", "--plan"], ["--plan", "would be ignored"]),
    ("bootstrap-local-account-profile", ["bootstrap", "--local", "--account-profile", "dev=herd-dev"],
     ["--account-profile", "drop --account-profile"]),
    ("bootstrap-unknown-env", ["bootstrap", "--endpoint-url", NEVER_REACHED, "--env", "staging"],
     ["environments", "unknown environment 'staging'"]),
    # rollout
    ("rollout-local-profile", ["rollout", "--local", "--profile", "herd-admin"], ["--profile", "drop --profile"]),
    ("rollout-local-role", ["rollout", "--local", "--role-name", "Admin"], ["--role-name", "drop --role-name"]),
    ("rollout-local-endpoint", ["rollout", "--local", "--endpoint-url", NEVER_REACHED], ["drop --endpoint-url"]),
    ("rollout-unknown-stack", ["rollout", "--endpoint-url", NEVER_REACHED, "--stack", "netwrok"],
     ["--stack", "unknown stack 'netwrok'", "did you mean 'network'?"]),
    ("rollout-bad-endpoint", ["rollout", "--endpoint-url", "not-a-url"],
     ["argument --endpoint-url", "'not-a-url' is not a URL"]),
    ("rollout-zero-poll", ["rollout", "--endpoint-url", NEVER_REACHED, "--poll-interval", "0"],
     ["argument --poll-interval", "positive number of seconds"]),
    ("rollout-bad-account-profile", ["rollout", "--endpoint-url", NEVER_REACHED, "--account-profile", "dev"],
     ["--account-profile", "expected ACCOUNT_OR_ENV=PROFILE"]),
    # deploy
    ("deploy-print-local", ["deploy", "--print-aws-cli", "--local"], ["--local", "--print-aws-cli only prints"]),
    ("deploy-no-stack", ["deploy", "--endpoint-url", NEVER_REACHED, "--env", "dev"],
     ["--stack", "exactly one --stack NAME"]),
    ("deploy-all-envs", ["deploy", "--endpoint-url", NEVER_REACHED, "--env", "all", "--stack", "network"],
     ["--env", "one environment"]),
    ("deploy-bootstrap-stack", ["deploy", "--endpoint-url", NEVER_REACHED, "--env", "dev", "--stack",
                                "stackset-execution"], ["deployed by `herd-cfn bootstrap`"]),
    ("deploy-local-account-profile", ["deploy", "--local", "--env", "dev", "--stack", "network",
                                      "--account-profile", "dev=herd-dev"], ["--account-profile"]),
    # status
    ("status-unknown-env", ["status", "--endpoint-url", NEVER_REACHED, "--env", "staging"],
     ["unknown environment 'staging'", "dev, prod"]),
    ("status-bad-endpoint", ["status", "--endpoint-url", "ftp://127.0.0.1"], ["argument --endpoint-url"]),
    # status waits only with --drift (so it takes the polling options), but never uploads a template.
    ("status-template-bucket-not-offered", ["status", "--endpoint-url", NEVER_REACHED, "--template-bucket", "b"],
     ["unrecognized arguments: --template-bucket"]),
    # restore
    ("restore-not-an-arn", ["restore", "--endpoint-url", NEVER_REACHED, "--env", "dev", "--yes",
                            "--recovery-point", "rp-123"],
     ["argument --recovery-point", "'rp-123' is not an AWS Backup recovery point",
      "arn:aws:backup:<region>:<account>:recovery-point:<id>"]),
    ("restore-ebs-snapshot-arn", ["restore", "--endpoint-url", NEVER_REACHED, "--env", "dev", "--yes",
                                  "--recovery-point", "arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0"],
     ["argument --recovery-point", "not an AWS Backup recovery point"]),
    ("restore-other-account", ["restore", "--endpoint-url", NEVER_REACHED, "--env", "dev", "--yes",
                               "--recovery-point", POINT.replace(DEV, PROD)],
     ["--recovery-point", f"is in {PROD}/eu-west-1", f"'dev' runs in {DEV}/eu-west-1"]),
    ("restore-local-role", ["restore", "--local", "--role-name", "x", "--env", "dev", "--yes",
                            "--recovery-point", POINT], ["--role-name"]),
    ("restore-all-envs", ["restore", "--endpoint-url", NEVER_REACHED, "--env", "all", "--yes",
                          "--recovery-point", POINT], ["--env", "one environment"]),
    # doctor
    ("doctor-unknown-env", ["doctor", "--endpoint-url", NEVER_REACHED, "--env", "staging"],
     ["unknown environment 'staging'"]),
    ("doctor-local-profile", ["doctor", "--local", "--profile", "herd-admin"], ["--profile"]),
    ("doctor-bad-endpoint", ["doctor", "--endpoint-url", "127.0.0.1:5000"], ["argument --endpoint-url"]),
]


@pytest.mark.parametrize(("case", "argv", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refused_before_any_call(project_copy, capsys, case, argv, expected):
    calls = _refused(capsys, project_copy, [*argv, *_paths(project_copy)], *expected)
    assert calls.calls == []


def test_every_aws_command_has_bad_input_cases():
    covered = {argv[0] for _, argv, _ in CASES}
    assert covered == {"bootstrap", "rollout", "deploy", "status", "restore", "doctor"}


# doctor shares aws_access, so the same check; left out here because its local checks take ~10 s first.
@pytest.mark.parametrize("command", ["status", "rollout", "bootstrap"])
def test_missing_profile_is_named_with_the_files_looked_in(project_copy, capsys, monkeypatch, tmp_path, command):
    config = tmp_path / "aws-config"
    config.write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    argv = [command, "--endpoint-url", NEVER_REACHED, "--profile", "herd-admin", *_paths(project_copy)]
    calls = _refused(capsys, project_copy, argv, "--profile", f"profile 'herd-admin' not found in {config} or "
             f"{tmp_path / 'aws-credentials'}", "aws configure list-profiles")
    assert calls.calls == []


def test_missing_account_profile_is_refused_before_the_first_change(project_copy, capsys, monkeypatch, tmp_path):
    """prod's profile is needed only after dev rolled out: it is still checked before anything."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    argv = ["rollout", *aws_args(NEVER_REACHED, project_copy), "--account-profile", "prod=herd-prod"]
    calls = _refused(capsys, project_copy, argv, "--account-profile", "profile 'herd-prod' not found in")
    assert calls.calls == []


def test_restore_without_terminal_still_checks_the_arn_first(project_copy, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    calls = _refused(capsys, project_copy, ["restore", "--env", "dev", "--recovery-point", "nope",
                                            "--endpoint-url", NEVER_REACHED, *_paths(project_copy)],
                     "--recovery-point")
    assert calls.calls == []
