"""Validated field types shared by the parameters-file models of every stack.

Each type carries the rule it enforces in words, because the message a user reads is built from it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema


class StrictModel(BaseModel):
    """Unknown keys are refused and types are not coerced: "2" is not an AZ count."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class Text:
    """What AWS accepts in a string field: at most ``max_length`` characters, each in ``charset`` (a regex
    character class), as AWS documents for the property the value ends up in (``source``). Checked before the
    field's own format, so a 5,000-character value is told its length, not a regex.

    Every string field of the parameters files carries one (tests/templates/test_field_limits.py)."""

    max_length: int
    charset: str
    charset_words: str
    source: str
    min_length: int = 1

    def check(self, value: str) -> str:
        if len(value) > self.max_length:
            raise ValueError(f"at most {self.max_length:,} characters ({self.source}), got {len(value):,}")
        if len(value) < self.min_length:
            raise ValueError(f"at least {self.min_length} character{'s' if self.min_length > 1 else ''}, got "
                             f"{value!r}")
        bad = next((c for c in value if not re.fullmatch(self.charset, c)), None)
        if bad is not None:
            raise ValueError(f"may contain only {self.charset_words} ({self.source}); {bad!r} is not allowed")
        return value

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self.check, handler(source_type))


def limits_of(annotation: Any) -> list[Text]:
    """The Text limits in a field's annotation (through Optional and Annotated), for the tests."""
    from typing import get_args

    found = [meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, Text)]
    for arg in get_args(annotation):
        found.extend(limits_of(arg))
    return found


# Printable characters without spaces: the set for free-form values whose own validator narrows it further.
PRINTABLE = r"[!-~]"


def _account_id(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError(f"must be a 12-digit AWS account id as a string, got {value!r}")
    return value


@lru_cache(maxsize=1)
def _dns_suffixes() -> dict[str, str]:
    """Region -> DNS suffix of its partition (amazonaws.com, amazonaws.com.cn...), from the endpoint data
    botocore ships (no network, and without importing boto3, which would double the build's start-up time)."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("botocore")
    assert spec and spec.origin
    data = json.loads((Path(spec.origin).parent / "data" / "endpoints.json").read_text(encoding="utf-8"))
    return {region: partition["dnsSuffix"] for partition in data["partitions"] for region in partition["regions"]}


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition."""
    return frozenset(_dns_suffixes())


def dns_suffix(region: str) -> str:
    """The DNS suffix of a known region's partition (CloudFormation's ``AWS::URLSuffix`` there)."""
    return _dns_suffixes()[region]


def _region(value: str) -> str:
    if value not in known_regions():
        import difflib

        near = difflib.get_close_matches(value, sorted(known_regions()), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"{value!r} is not an AWS region with CloudFormation{hint}")
    return value


_HOSTNAME = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _domain(value: str) -> str:
    if not _HOSTNAME.fullmatch(value):
        raise ValueError(f"must be a lower-case DNS name such as platform.example.com, got {value!r}")
    return value


def _vpc_cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network in CIDR notation such as 10.0.0.0/16 ({exc})") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError(f"prefix length must be /16 to /24 (AWS VPC limits), got /{network.prefixlen}")
    return value


def ip_network(value: str, *, what: str, example: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``value`` as a network written exactly as EC2 stores it, or one ValueError that says how to write it:
    ``what`` it is and an ``example``. Callers check the version (:func:`require_ipv4`) after their own rules."""
    if "/" not in value:
        raise ValueError(f"needs a prefix length: write {what} as address/length, e.g. {value}/32 for this one "
                         f"address or {example} for a network; got {value!r}")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network in CIDR notation such as {example} ({exc})") from None
    if str(network) != value:
        raise ValueError(f"{value} has host bits set: the network is {network} (EC2 would store it as that)")
    return network


def require_ipv4(network: ipaddress.IPv4Network | ipaddress.IPv6Network, why: str) -> None:
    if network.version != 4:
        raise ValueError(f"must be an IPv4 network ({why}), got {str(network)!r}")


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network in CIDR notation such as 203.0.113.0/24 ({exc})") from None
    return value


AccountId = Annotated[str, Text(12, r"[0-9]", "digits", "a 12-digit AWS account id"), AfterValidator(_account_id)]
Region = Annotated[str, Text(128, r"[a-z0-9-]", "lower-case letters, digits and '-'",
                             "an AWS region name"), AfterValidator(_region)]
# 248: the stacks also name mqtt.<domain>, and a DNS name has at most 253 characters.
DomainName = Annotated[str, Text(248, r"[a-z0-9.-]", "lower-case letters, digits, '.' and '-'",
                                 "a DNS name; mqtt.<domain> must fit in 253 characters"), AfterValidator(_domain)]
CIDR_TEXT = Text(18, r"[0-9./]", "digits, '.' and '/'", "an IPv4 network in CIDR notation")
VpcCidr = Annotated[str, CIDR_TEXT, AfterValidator(_vpc_cidr)]
Cidr = Annotated[str, CIDR_TEXT, AfterValidator(_cidr)]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"must be a CloudWatch Logs retention period ({', '.join(map(str, LOG_RETENTION_DAYS))}), got {value}"
        )
    return value


LogRetentionDays = Annotated[int, AfterValidator(_retention)]


# A complete secret ARN ends with the 6 characters Secrets Manager appends to the name. IAM statements
# and ECS's "<arn>:<json key>::" references need it; a partial ARN only fails when a task starts.
SECRET_ARN_PATTERN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}"
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}"
SECRET_ARN_EXAMPLE = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:name-AbCdEf (the complete ARN)"
ARN_CHARSET = r"[A-Za-z0-9:/_+=.,@-]"
ARN_WORDS = "letters, digits and : / _ + = . , @ -"
SECRET_ARN_TEXT = Text(2048, ARN_CHARSET, ARN_WORDS, "a Secrets Manager secret ARN")
# RFC 5321 limits a forward path to 256 octets including the angle brackets.
EMAIL_TEXT = Text(254, PRINTABLE, "printable characters without spaces", "an e-mail address, RFC 5321")


def matching(pattern: str, example: str) -> AfterValidator:
    """A validator for strings that must match ``pattern`` in full; the message shows ``example``."""
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"must look like {example}, got {value!r}")
        return value

    return AfterValidator(check)
