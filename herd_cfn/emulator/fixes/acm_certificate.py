"""``AWS::CertificateManager::Certificate`` in moto's ACM, validated through its hosted zones.

Gap: moto's CloudFormation has no model of this type: the edge stack's certificate was skipped, so
``Ref Certificate`` was empty and the HTTPS listeners failed (KeyError 'CertificateArn').
AWS: the CloudFormation resource reference of AWS::CertificateManager::Certificate (Ref: the
certificate ARN; with ``ValidationMethod: DNS`` and a ``HostedZoneId`` in ``DomainValidationOptions``,
CloudFormation writes the validation CNAME records into that zone and completes once the certificate
is ISSUED; every property but Tags replaces it), and the ACM user guide "DNS validation".
"""

from __future__ import annotations

from typing import Any

from ._model import Resource, register


def _backend(account_id: str, region: str) -> Any:
    from moto.acm.models import acm_backends

    return acm_backends[account_id][region]


def _write_validation_records(account_id: str, region: str, certificate: Any, properties: dict[str, Any]) -> bool:
    """The CNAME records of each domain into the zone its DomainValidationOptions names; True if all have one."""
    from moto.route53.models import route53_backends
    from moto.utilities.utils import get_partition

    route53 = route53_backends[account_id][get_partition(region)]
    zones = {o["DomainName"]: o.get("HostedZoneId") for o in properties.get("DomainValidationOptions") or []}
    options = certificate.describe()["Certificate"]["DomainValidationOptions"]
    if not options or not all(zones.get(o["DomainName"]) for o in options):
        return False
    for option in options:
        record = option["ResourceRecord"]
        # Raises NoSuchHostedZone for a zone the account does not have, as CloudFormation fails then.
        route53.get_hosted_zone(zones[option["DomainName"]]).add_rrset({
            "Name": record["Name"], "Type": record["Type"], "TTL": 300,
            "ResourceRecords": [record["Value"]]})
    return True


class Certificate(Resource):
    TYPE = "AWS::CertificateManager::Certificate"

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        backend = _backend(account_id, region)
        options = {}
        if properties.get("CertificateTransparencyLoggingPreference"):
            options["CertificateTransparencyLoggingPreference"] = \
                properties["CertificateTransparencyLoggingPreference"]
        arn = backend.request_certificate(
            domain_name=properties["DomainName"], idempotency_token=None,
            subject_alt_names=properties.get("SubjectAlternativeNames") or [],
            tags=properties.get("Tags") or [], cert_authority_arn=properties.get("CertificateAuthorityArn"),
            cert_options=options or None)
        certificate = backend.get_certificate(arn)
        if properties.get("ValidationMethod") == "DNS" and _write_validation_records(
                account_id, region, certificate, properties):
            certificate.status = "ISSUED"
        return cls(arn)

    def remove(self) -> None:
        _backend(self.account_id, self.region_name).delete_certificate(self.ref)


def install() -> None:
    register(Certificate)
