"""Not an AWS gap: what makes moto slow per simulated account, removed without changing an answer.

With 50 simulated accounts, moto's own work per account hid what the rollout does (measured on this
project's 2-core machine, per account): loading its ~1,000 default AMIs into the EC2 backend of each
new account (1.8 s; nothing herd-cfn deploys uses an AMI; moto's documented switch
MOTO_EC2_LOAD_DEFAULT_AMIS=false, unless the caller set it), and parsing the same StackSet template
again with PyYAML's pure-Python loader for every instance (0.3-0.9 s; parsed once here and deep-copied
for each stack, so no stack sees another's changes).
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

_parsed: dict[str, Any] = {}
_lock = threading.Lock()


def install() -> None:
    from moto.cloudformation.models import Stack

    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    original = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        if not isinstance(template, str):
            return original(template)
        with _lock:
            cached = _parsed.get(template)
        if cached is None:
            cached = original(template)
            with _lock:
                _parsed[template] = cached
        return copy.deepcopy(cached)

    Stack.parse_template = staticmethod(parse_template)
