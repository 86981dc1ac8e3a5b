"""The VPC as the appspec hook functions see it, played on 127.0.0.1: the ALB's private addresses, its HTTPS
listeners, and the manager tasks behind them.

What is real: the routing state. A request to a listener goes where the emulator's ELBv2 says now: the listener's
default action (the weighted forward CodeDeploy rewrites; the heavier target group wins, as all-at-once traffic
does), then a registered target of that group (ECS registers task IPs: fix ``ecs_task_sets``), then the manager
task with that IP. TLS is real: each listener is a TLS server on 127.0.0.1 with a certificate for the environment's
domain from a test CA, which the functions trust through SSL_CERT_FILE (on Lambda, the ACM certificate is trusted
by the system store). What is modelled: the ALB's addresses are its network interfaces in the emulator (fix
``elbv2_load_balancer_interfaces``); a function's connection to <interface address>:<listener port> reaches that
listener's server (:meth:`Alb.create_connection` stands in for the module's ``socket``; nothing else in the VPC is
reachable); each manager task is an OpenRemote manager of the deploy-hooks tests' model
(tests/templates/test_lambda_deploy_hooks.py: flags read from the shared database at start, writes applied in the
manager that receives them), and answers ``GET /api/master/info`` with its image, as OpenRemote answers it without
login. An ALB with no registered target in the group answers 503, as AWS's does.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from pathlib import Path

from tests.templates.test_lambda_deploy_hooks import Handler, Platform


class ListenerHandler(Handler):
    """One ALB listener: routes each request by the emulator's state, then answers as that task's manager."""

    def _route(self, method):
        alb, platform = self.server.alb, self.server.platform
        target = alb.target(self.server.listener_arn)
        platform.serving = target
        alb.requests.append((self.server.listener_port, target, method, self.path))
        if (method, self.path) == ("GET", "/api/master/info"):
            if target not in platform.managers:
                return self._answer(503)
            return self._answer(200, {"version": alb.images[target]})
        return super()._route(method)


class Alb:
    """The application load balancer of the edge stack, its HTTPS listeners served on 127.0.0.1."""

    def __init__(self, deployed, load_balancer_arn: str, pki: Path, admin_password: str) -> None:
        self.elbv2, self.ec2 = deployed.client("elbv2"), deployed.client("ec2")
        self.arn = load_balancer_arn
        self.platform = Platform()
        self.images: dict[str, str] = {}  # task IP -> the image its manager runs
        self.requests: list[tuple[int, str | None, str, str]] = []  # (listener port, target IP, method, path)
        self._servers: dict[int, http.server.ThreadingHTTPServer] = {}
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki / "server.pem", pki / "server.key")
        for listener in self.elbv2.describe_listeners(LoadBalancerArn=load_balancer_arn)["Listeners"]:
            if listener["Protocol"] != "HTTPS":
                continue  # HTTP 80 only redirects
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ListenerHandler)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.alb, server.platform, server.password = self, self.platform, admin_password
            server.listener_arn, server.listener_port = listener["ListenerArn"], listener["Port"]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers[listener["Port"]] = server

    def close(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()

    # --- the network ----------------------------------------------------------------------------------------
    def addresses(self) -> set[str]:
        """The private addresses of the ALB's network interfaces, as the functions find them."""
        description = "ELB " + self.arn.split(":loadbalancer/", 1)[1]
        found = self.ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": [description]}])
        return {i["PrivateIpAddress"] for i in found["NetworkInterfaces"]}

    def create_connection(self, address, timeout=None, *args, **kwargs):
        """``socket.create_connection`` inside the VPC: only the ALB's addresses on its listener ports answer."""
        host, port = address
        if host not in self.addresses() or port not in self._servers:
            raise ConnectionRefusedError(111, f"nothing listens on {host}:{port} in the VPC")
        return socket.create_connection(("127.0.0.1", self._servers[port].server_address[1]), timeout)

    def target(self, listener_arn: str) -> str | None:
        """The target IP the listener sends a request to now, None when its target group has none."""
        (listener,) = self.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"]
        action = listener["DefaultActions"][-1]
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [action]
        group = max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"]
        health = self.elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        targets = sorted(d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy")
        return targets[0] if targets else None

    # --- the manager tasks (the driver calls these as ECS starts and stops them) ---------------------------------
    def task_started(self, ip: str, image: str) -> None:
        with self.platform.lock:
            self.images[ip] = image
            self.platform.start(ip)

    def task_stopped(self, ip: str) -> None:
        with self.platform.lock:
            self.platform.stop(ip)
