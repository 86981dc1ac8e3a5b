"""The BeforeAllowTraffic hook: finding the ALB's private IPs, probing over real TLS, reporting to CodeDeploy.

What comes from where:
- The HTTPS probe runs for real against a TLS server on 127.0.0.1 with a certificate issued by a test
  CA for the environment's domain (made here with ``cryptography``). The function trusts the CA the
  way OpenSSL is told to in any process: SSL_CERT_FILE. On Lambda the system store already trusts
  the ACM certificate, so the function needs no such setting.
- The ALB's network interfaces are ENIs in moto, created by the test with the description AWS gives
  them ("ELB app/<name>/<id>"): moto's ELBv2 does not create ENIs for a load balancer.
- CodeDeploy's PutLifecycleEventHookExecutionStatus is not implemented by moto, so botocore's Stubber
  stands in and asserts the exact status and ids AWS would receive. In AWS, Failed makes the
  deployment group roll back; no call at all leaves the deployment waiting for the hook's hour.
"""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
import time

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from herd_cfn.templates.lambdas import before_allow_traffic

DOMAIN = "platform-dev.herd-itt.com"
LB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/herd-alb/50dc6c495c0c9188"
HOOK_EVENT = {"DeploymentId": "d-XYZ987", "LifecycleEventHookExecutionId": "hook-exec-7"}


# --- a TLS server on 127.0.0.1 --------------------------------------------------------------------

def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca, dns_names=()):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject)).issuer_name(_name(issuer)).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False)
    return builder.sign(signing_key, hashes.SHA256())


def make_pki(directory, domain):
    """A test CA (ca.pem) and a server certificate for ``domain`` signed by it (server.pem, server.key)."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("herd test CA", "herd test CA", ca_key.public_key(), ca_key, ca=True)
    server = _certificate(domain, "herd test CA", server_key.public_key(), ca_key, ca=False, dns_names=[domain])
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return directory


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """make_pki for DOMAIN."""
    return make_pki(tmp_path_factory.mktemp("pki"), DOMAIN)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append((self.path, self.headers["Host"]))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"version": "1.0.0"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(pki):
    """HTTPS on 127.0.0.1 presenting DOMAIN's certificate; set ``.status`` to choose the answer."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.status, server.requests = 200, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def trust_test_ca(pki, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))


# --- probe: real TLS ---------------------------------------------------------------------------------

def test_probe_gets_the_status_over_verified_tls(tls_server, trust_test_ca):
    port = tls_server.server_address[1]
    assert before_allow_traffic.probe("127.0.0.1", port, DOMAIN, "/api/master/info", 5) == 200
    # Connected to an IP, yet the request names the domain, as the ALB's users do.
    assert tls_server.requests == [("/api/master/info", DOMAIN)]


def test_probe_returns_an_error_status_as_it_is(tls_server, trust_test_ca):
    tls_server.status = 503
    assert before_allow_traffic.probe("127.0.0.1", tls_server.server_address[1], DOMAIN, "/api/master/info", 5) == 503


def test_probe_refuses_a_certificate_for_another_name(tls_server, trust_test_ca):
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        before_allow_traffic.probe("127.0.0.1", tls_server.server_address[1], "platform.herd-itt.com", "/", 5)
    assert tls_server.requests == []


def test_probe_refuses_an_untrusted_certificate(tls_server, monkeypatch, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        before_allow_traffic.probe("127.0.0.1", tls_server.server_address[1], DOMAIN, "/", 5)


# --- the handler --------------------------------------------------------------------------------------

@pytest.fixture
def alb_interfaces(aws, monkeypatch):
    """The ALB's ENIs in moto (two AZs) plus an unrelated ENI; the hook's environment points at them."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for n, description in ((1, "ELB app/herd-alb/50dc6c495c0c9188"), (2, "ELB app/herd-alb/50dc6c495c0c9188"),
                           (3, "ELB app/other-alb/1111111111111111")):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24")["Subnet"]["SubnetId"]
        ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=f"10.0.{n}.50", Description=description)
    for name, value in {
        "LOAD_BALANCER_ARN": LB_ARN, "TEST_LISTENER_PORT": "8443", "HEALTH_HOSTNAME": DOMAIN,
        "HEALTH_TIMEOUT_SECONDS": "1", "HEALTH_INTERVAL_SECONDS": "0.1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HEALTH_PATH", raising=False)
    return ["10.0.1.50", "10.0.2.50"]


def codedeploy_expecting(status):
    codedeploy = boto3.client("codedeploy", endpoint_url="http://127.0.0.1:9")  # never reached: Stubber answers
    stub = Stubber(codedeploy)
    stub.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": HOOK_EVENT["LifecycleEventHookExecutionId"]},
        {"deploymentId": "d-XYZ987", "lifecycleEventHookExecutionId": "hook-exec-7", "status": status},
    )
    stub.activate()
    return codedeploy, stub


def run_hook(monkeypatch, codedeploy, probe=None, context=None):
    monkeypatch.setattr(
        before_allow_traffic, "clients", lambda: {"ec2": boto3.client("ec2"), "codedeploy": codedeploy}
    )
    if probe:
        monkeypatch.setattr(before_allow_traffic, "probe", probe)
    return before_allow_traffic.handler(HOOK_EVENT, context)


def test_load_balancer_ips_are_the_albs_own_interfaces(alb_interfaces):
    assert before_allow_traffic.load_balancer_ips(boto3.client("ec2"), LB_ARN) == alb_interfaces


def test_succeeds_once_any_alb_node_answers_200(alb_interfaces, monkeypatch, capsys):
    calls = []

    def probe(ip, port, hostname, path, timeout):
        calls.append((ip, port, hostname, path))
        return 200 if len(calls) >= 3 else 503  # the replacement needs a moment to pass

    codedeploy, stub = codedeploy_expecting("Succeeded")
    assert run_hook(monkeypatch, codedeploy, probe) == {"status": "Succeeded"}
    stub.assert_no_pending_responses()
    assert calls == [
        ("10.0.1.50", 8443, DOMAIN, "/api/master/info"),
        ("10.0.2.50", 8443, DOMAIN, "/api/master/info"),
        ("10.0.1.50", 8443, DOMAIN, "/api/master/info"),
    ]
    out = capsys.readouterr().out
    assert f"GET https://{DOMAIN}:8443/api/master/info via 10.0.2.50: HTTP 503" in out
    assert "report Succeeded for deployment d-XYZ987" in out


class VirtualClock:
    """The module's clock: sleeping advances it at once, so the timeout is checked exactly, not by wall time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_fails_within_the_timeout_when_never_healthy(alb_interfaces, monkeypatch, capsys):
    rounds = []
    clock = VirtualClock()
    monkeypatch.setattr(before_allow_traffic, "time", clock)
    codedeploy, stub = codedeploy_expecting("Failed")
    assert run_hook(monkeypatch, codedeploy, lambda ip, *_: rounds.append(ip) or 502) == {"status": "Failed"}
    stub.assert_no_pending_responses()
    # HEALTH_TIMEOUT_SECONDS=1, a round every 0.1 s: it gives up within the budget, after about 10 rounds.
    assert 0.8 <= clock.now - 1000.0 <= 1.0
    assert 8 <= len(rounds) // 2 <= 10  # two interfaces probed per round
    assert "replacement not healthy within 1s" in capsys.readouterr().out


def test_connection_errors_count_as_not_healthy_yet(alb_interfaces, monkeypatch):
    attempts = []

    def probe(ip, *_):
        attempts.append(ip)
        if len(attempts) == 1:
            raise ConnectionRefusedError(111, "Connection refused")
        return 200

    codedeploy, stub = codedeploy_expecting("Succeeded")
    assert run_hook(monkeypatch, codedeploy, probe) == {"status": "Succeeded"}
    stub.assert_no_pending_responses()
    assert attempts == ["10.0.1.50", "10.0.2.50"]


def test_an_unexpected_exception_reports_failed(alb_interfaces, monkeypatch, capsys):
    def probe(*_):
        raise ValueError("boom")

    codedeploy, stub = codedeploy_expecting("Failed")
    assert run_hook(monkeypatch, codedeploy, probe) == {"status": "Failed"}
    stub.assert_no_pending_responses()
    assert "health check failed: ValueError('boom')" in capsys.readouterr().out


def test_a_missing_setting_reports_failed(alb_interfaces, monkeypatch):
    monkeypatch.delenv("HEALTH_HOSTNAME")
    codedeploy, stub = codedeploy_expecting("Failed")
    assert run_hook(monkeypatch, codedeploy, lambda *_: 200) == {"status": "Failed"}
    stub.assert_no_pending_responses()


def test_no_alb_interfaces_reports_failed(alb_interfaces, monkeypatch, capsys):
    monkeypatch.setenv("LOAD_BALANCER_ARN", LB_ARN.replace("herd-alb", "gone-alb"))
    codedeploy, stub = codedeploy_expecting("Failed")
    assert run_hook(monkeypatch, codedeploy, lambda *_: 200) == {"status": "Failed"}
    stub.assert_no_pending_responses()
    assert "no network interfaces found for the load balancer" in capsys.readouterr().out


class _LambdaContext:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def test_the_lambda_timeout_caps_the_wait(alb_interfaces, monkeypatch, capsys):
    monkeypatch.setenv("HEALTH_TIMEOUT_SECONDS", "600")
    codedeploy, stub = codedeploy_expecting("Failed")
    started = time.monotonic()
    # 20.5 s left: the function keeps 20 s to report, so it may probe for half a second only.
    assert run_hook(monkeypatch, codedeploy, lambda *_: 503, _LambdaContext(20_500)) == {"status": "Failed"}
    assert time.monotonic() - started < 2
    stub.assert_no_pending_responses()


def test_end_to_end_over_real_tls(alb_interfaces, tls_server, trust_test_ca, monkeypatch):
    """The real probe: the 'ALB node' is the local TLS server; ip and port are rewritten to reach it."""
    real_probe, port, seen = before_allow_traffic.probe, tls_server.server_address[1], []

    def via_local_server(ip, _port, hostname, path, timeout):
        seen.append(ip)
        return real_probe("127.0.0.1", port, hostname, path, timeout)

    tls_server.status = 200
    codedeploy, stub = codedeploy_expecting("Succeeded")
    assert run_hook(monkeypatch, codedeploy, via_local_server) == {"status": "Succeeded"}
    stub.assert_no_pending_responses()
    assert seen == ["10.0.1.50"]
    assert tls_server.requests == [("/api/master/info", DOMAIN)]

    monkeypatch.setenv("HEALTH_HOSTNAME", "platform.herd-itt.com")  # the certificate does not cover it
    codedeploy, stub = codedeploy_expecting("Failed")
    assert run_hook(monkeypatch, codedeploy, via_local_server) == {"status": "Failed"}
    stub.assert_no_pending_responses()

