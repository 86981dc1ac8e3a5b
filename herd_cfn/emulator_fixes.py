"""Gaps of moto 5.2.5's CloudFormation that stop it creating the network stack, filled in this process.

* ``Fn::Cidr`` is not implemented (``Fn::Select`` over it ends in an internal error). It is computed
  here as AWS documents it: ``count`` consecutive blocks of ``cidrBits`` host bits from the start of
  ``ipBlock``.
* ``Fn::GetAZs`` takes its argument only as a literal region name, not ``{Ref: AWS::Region}``.
* A short-form tag on a mapping (``!GetAZs {Ref: AWS::Region}``, as cfn-flip writes it) is read as raw
  YAML nodes; here it becomes the mapping it is.

Both only change the moto server running inside this Python process (``--local``, the tests, the
benchmark); real AWS implements both itself. Nothing else in moto's behaviour is changed.
"""

from __future__ import annotations

import ipaddress
from typing import Any

_installed = False


def cidr(ip_block: str, count: int | str, cidr_bits: int | str) -> list[str]:
    network = ipaddress.ip_network(ip_block, strict=False)
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(cidr_bits))
    return [str(next(subnets)) for _ in range(int(count))]


def install() -> None:
    """Idempotent."""
    global _installed
    if _installed:
        return
    import yaml
    from moto.cloudformation import models, parsing, responses, utils

    original_clean = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            ip_block, count, bits = original_clean(resource_json["Fn::Cidr"], resources_map)
            return cidr(ip_block, count, bits)
        if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::GetAZs"), dict):
            # moto reads the argument of GetAZs only as a literal region name.
            region = original_clean(resource_json["Fn::GetAZs"], resources_map)
            return original_clean({"Fn::GetAZs": region}, resources_map)
        return original_clean(resource_json, resources_map)

    # clean_json recurses through the module global, so nested Fn::Cidr resolve too.
    parsing.clean_json = clean_json

    original_tag = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
            return {key: loader.construct_mapping(node, deep=True)}
        return original_tag(loader, tag, node)

    # Each module registers the constructor by its own global name at parse time.
    for module in (utils, models, responses):
        module.yaml_tag_constructor = yaml_tag_constructor
    _installed = True
