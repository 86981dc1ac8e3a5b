"""Building a boto3 session or client fails with one clear line, like the API errors do (the command line
checks --endpoint-url first; these are the errors behind it, for callers of AwsContext)."""

from __future__ import annotations

import pytest

from herd_cfn.errors import InputError
from herd_cfn.operations.aws import AwsContext


def test_endpoint_botocore_refuses_is_named():
    ctx = AwsContext(endpoint_url="not-a-url")
    with pytest.raises(InputError) as refused:
        ctx.client(ctx.base_session("eu-west-1"), "sts")
    assert str(refused.value).startswith("--endpoint-url: 'not-a-url' is not a URL botocore accepts")


def test_missing_profiles_are_found_before_any_call(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile herd-admin]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    ok = AwsContext(endpoint_url="http://127.0.0.1:9", profile="herd-admin")
    ok.check_profiles("eu-west-1")  # exists: no error, and no call is made (the endpoint is never reached)
    ctx = AwsContext(endpoint_url="http://127.0.0.1:9", profile="herd-admin",
                     account_profiles={"333333333333": "herd-prod"})
    with pytest.raises(InputError) as refused:
        ctx.check_profiles("eu-west-1")
    assert str(refused.value) == (f"--account-profile: profile 'herd-prod' not found in {config} or "
                                  f"{tmp_path / 'credentials'}; list profiles with `aws configure list-profiles`")
