"""ModifyListener takes the network load balancer protocols (TLS, UDP, TCP_UDP).

Gap: moto's ``modify_listener`` refuses every protocol but HTTP, HTTPS and TCP ("Protocol TLS is not
supported"), so a stack update that touches the NLB's TLS listener (a new SSL policy) failed on moto,
though creating it works.
AWS: ModifyListener in the Elastic Load Balancing API reference (Protocol: "for Network Load Balancers,
the supported protocols are TCP, TLS, UDP, and TCP_UDP"; a TLS listener takes Certificates and
SslPolicy like an HTTPS one).
"""

from __future__ import annotations

from typing import Any

NLB_ONLY = ("TLS", "UDP", "TCP_UDP")


def install() -> None:
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.modify_listener

    def modify_listener(self: Any, arn: str, port: str | None = None, protocol: str | None = None,
                        ssl_policy: str | None = None, certificates: list[dict[str, Any]] | None = None,
                        actions: list[dict[str, Any]] | None = None) -> Any:
        if protocol not in NLB_ONLY:
            return original(self, arn, port, protocol, ssl_policy, certificates, actions)
        listener = original(self, arn, port, None, ssl_policy, None, actions)
        listener.protocol = protocol
        if certificates:
            listener.certificate = certificates[0]["CertificateArn"]
            listener.certificates = [c["CertificateArn"] for c in certificates]
        return listener

    ELBv2Backend.modify_listener = modify_listener
