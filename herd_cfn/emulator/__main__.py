"""``python -m herd_cfn.emulator [--port N]``: the emulator in the foreground, on 127.0.0.1 only, with every
fix installed; use it through ``--endpoint-url`` (herd-cfn, the AWS CLI, boto3) or let
``herd-cfn local start`` run it in the background. Ends on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading

from herd_cfn.emulator.server import LOOPBACK, LocalAws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m herd_cfn.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000, moto's)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        server = LocalAws(args.port)
        server._make_server()
    except OSError as exc:
        print(f"error: cannot listen on {LOOPBACK}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    def stop(signum: int, _frame: object) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"herd-cfn emulator on {server.endpoint_url} (moto with herd-cfn's fixes; Ctrl-C ends it)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve()
    # Everything lives in memory and is meant to go: skip the interpreter's teardown of moto's many
    # modules (seconds), so `herd-cfn local stop` returns at once.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
