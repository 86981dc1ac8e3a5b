"""The load balancers' access-log bucket: made and retained by the stack unless the user gives one.

The ALB writes as the regional Elastic Load Balancing account (regions opened before August 2022,
which include every region below) and supports SSE-S3 only; the NLB writes its TLS listener's logs
through the log delivery service (delivery.logs.amazonaws.com). Both are the policies of AWS's
"Enable access logs" pages for Application and Network Load Balancers.
"""

from __future__ import annotations

from awacs.aws import Action as AwsAction
from awacs.aws import Allow, ArnLike, Bool, Condition, Deny, Policy, Principal, Statement, StringEquals
from troposphere import AccountId, FindInMap, GetAtt, Ref, Region, Sub, Template, s3

from herd_cfn import names
from herd_cfn.templates.helpers import RETAIN, skip

E = names.Edge

# The Elastic Load Balancing account that writes ALB access logs, per region (AWS's ALB access-log page).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-north-1": "897822967062",
    "eu-south-1": "635631232127", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-west-3": "009996457667", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}


def _logs_of(prefix: str) -> Sub:
    return Sub("arn:${AWS::Partition}:s3:::${%s}/%s/AWSLogs/${AWS::AccountId}/*" % (E.LOG_BUCKET, prefix))


def _policy() -> Policy:
    bucket = GetAtt(E.LOG_BUCKET, "Arn")
    # The log delivery service acts for this account's load balancers only (confused-deputy guard).
    own = Condition([StringEquals("aws:SourceAccount", AccountId),
                     ArnLike("aws:SourceArn", Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*"))])
    return Policy(Version="2012-10-17", Statement=[
        Statement(Sid="AlbAccessLogs", Effect=Allow, Action=[AwsAction("s3", "PutObject")],
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${Account}:root", Account=FindInMap(
                      E.ELB_LOG_ACCOUNTS, Region, "Account"))),
                  Resource=[_logs_of(E.ALB_LOG_PREFIX)]),
        Statement(Sid="NlbAccessLogs", Effect=Allow, Action=[AwsAction("s3", "PutObject")],
                  Principal=Principal("Service", "delivery.logs.amazonaws.com"), Resource=[_logs_of(E.NLB_LOG_PREFIX)],
                  Condition=own),
        Statement(Sid="NlbAclCheck", Effect=Allow, Action=[AwsAction("s3", "GetBucketAcl")],
                  Principal=Principal("Service", "delivery.logs.amazonaws.com"), Resource=[bucket], Condition=own),
        Statement(Sid="TlsOnly", Effect=Deny, Action=[AwsAction("s3", "*")], Principal=Principal("*"),
                  Resource=[bucket, Sub("${%s.Arn}/*" % E.LOG_BUCKET)],
                  Condition=Condition(Bool("aws:SecureTransport", "false"))),
    ])


def build(t: Template) -> None:
    t.add_mapping(E.ELB_LOG_ACCOUNTS, {region: {"Account": account} for region, account in ELB_LOG_ACCOUNTS.items()})
    days = Ref(E.ACCESS_LOG_RETENTION)
    t.add_resource(s3.Bucket(
        # Retained: the logs are evidence after the load balancers are gone; the lifecycle keeps expiring them.
        E.LOG_BUCKET, Condition=E.CREATE_LOG_BUCKET, **RETAIN,
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[
            s3.LifecycleRule(Id="expire-logs", Status="Enabled", ExpirationInDays=days,
                             NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days),
                             AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                                 DaysAfterInitiation=1)),
            s3.LifecycleRule(Id="remove-delete-markers", Status="Enabled", ExpiredObjectDeleteMarker=True),
        ]),
        Metadata=skip(
            ("CKV_AWS_18", "This is the log bucket; its own server access logs would need yet another bucket"),
            ("CKV_AWS_145", "ALB access logs support SSE-S3 only (AWS's ALB access-log page), not SSE-KMS"),
        ),
    ))
    t.add_resource(s3.BucketPolicy(
        E.LOG_BUCKET_POLICY, Condition=E.CREATE_LOG_BUCKET, Bucket=Ref(E.LOG_BUCKET),
        PolicyDocument=_policy(),
    ))

