"""The deployable source of the Lambda functions: what CloudFormation writes to index.py from Code.ZipFile."""

from __future__ import annotations

import types

import boto3
import pytest
from botocore.stub import Stubber

from herd_cfn.templates.lambdas import (
    INLINE_SOURCE_BUDGET,
    MODULES,
    PACKED_SOURCE_LIMIT,
    inline_source,
    minify,
    packed_source,
)


def load(module_name):
    """The template's source run as its own module, as Lambda imports index.py."""
    module = types.ModuleType("index")
    exec(compile(packed_source(module_name), "index.py", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("module_name", MODULES)
def test_inline_source_compiles_keeps_the_handler_and_fits_the_budget(module_name):
    source = inline_source(module_name, budget=PACKED_SOURCE_LIMIT)
    compile(source, "index.py", "exec")
    assert "\ndef handler(event, context):\n aws = clients()\n" in source  # one-space indents
    assert len(packed_source(module_name)) <= INLINE_SOURCE_BUDGET  # what lands in the template
    assert '"""' not in source  # docstrings gone


@pytest.mark.parametrize("module_name", MODULES)
def test_packed_source_runs_exactly_the_inline_source(module_name):
    """What the template holds (a zlib/base85 loader) defines the same module Lambda would get from the text."""
    module = types.ModuleType("index")
    exec(compile(packed_source(module_name), "index.py", "exec"), module.__dict__)
    plain = types.ModuleType("plain")
    exec(compile(inline_source(module_name, budget=PACKED_SOURCE_LIMIT), "plain.py", "exec"), plain.__dict__)
    assert callable(module.handler)
    assert module.handler.__code__.co_code == plain.handler.__code__.co_code
    assert len(packed_source(module_name)) < len(inline_source(module_name, budget=PACKED_SOURCE_LIMIT))


@pytest.mark.parametrize("module_name", MODULES)
def test_inline_source_imports_only_the_standard_library_and_boto3(module_name):
    imports = {line.split()[1].split(".")[0]
               for line in inline_source(module_name, budget=PACKED_SOURCE_LIMIT).splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "os", "time", "socket", "ssl", "http", "json", "urllib", "boto3", "botocore"}


def test_inline_source_refuses_what_exceeds_the_budget():
    with pytest.raises(ValueError, match=r"inline source of mqtt_reconcile is \d+ characters, over the budget of 100"):
        inline_source("mqtt_reconcile", budget=100)


def test_inline_source_refuses_an_unknown_module():
    with pytest.raises(ValueError, match="unknown Lambda module 'emulator'"):
        inline_source("emulator")


def test_minify_drops_docstrings_comments_and_annotations_but_keeps_behaviour():
    source = '''
"""Module doc."""
import os  # a comment


def greet(name: str, *, punctuation: str = "!") -> str:
    """Function doc."""
    prefix: str = "hello"
    "a stray string statement"
    if name:
        return f"{prefix} {name}{punctuation}"
    else:
        """Only a docstring-like string: the block must not become empty."""
'''
    small = minify(source)
    namespace = {}
    exec(small, namespace)
    assert namespace["greet"]("mqtt") == "hello mqtt!"
    assert namespace["greet"]("") is None
    assert "doc" not in small and "comment" not in small and "str" not in small.replace("stray", "")
    assert len(small) < len(source) / 2


def test_the_deployable_reconcile_function_runs_its_plan():
    index = load("mqtt_reconcile")
    current = [{"Target": {"Id": "10.0.1.9", "Port": 1883}, "TargetHealth": {"State": "healthy"}}]
    assert index.plan({"10.0.1.5"}, current) == ([{"Id": "10.0.1.5", "Port": 1883}], [{"Id": "10.0.1.9", "Port": 1883}])


def test_the_deployable_hook_reports_failed_to_codedeploy(monkeypatch):
    """The minified handler end to end on its failure path: no ALB interface answers (Stubber for both APIs)."""
    index = load("before_allow_traffic")
    ec2, codedeploy = (boto3.client(n, endpoint_url="http://127.0.0.1:9") for n in ("ec2", "codedeploy"))
    ec2_stub, cd_stub = Stubber(ec2), Stubber(codedeploy)
    ec2_stub.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
    cd_stub.add_response(
        "put_lifecycle_event_hook_execution_status", {},
        {"deploymentId": "d-1", "lifecycleEventHookExecutionId": "h-1", "status": "Failed"},
    )
    ec2_stub.activate()
    cd_stub.activate()
    for name, value in {"LOAD_BALANCER_ARN": "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/a/b",
                        "TEST_LISTENER_PORT": "8443", "HEALTH_HOSTNAME": "example.com",
                        "HEALTH_TIMEOUT_SECONDS": "0", "HEALTH_INTERVAL_SECONDS": "0"}.items():
        monkeypatch.setenv(name, value)
    index.clients = lambda: {"ec2": ec2, "codedeploy": codedeploy}
    assert index.handler({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}, None) == {"status": "Failed"}
    cd_stub.assert_no_pending_responses()
