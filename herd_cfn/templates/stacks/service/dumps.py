"""Consistent database dumps: ``pg_dump -Fc`` of the ``openremote`` database (OpenRemote's and Keycloak's
tables) to the data stack's /dumps directory on EFS, daily at 02:30 UTC (before AWS Backup's 03:00 copy of
the file system) and before every manager deployment (the pipeline's BeforeInstall hook runs this task).

An EFS backup of a running PostgreSQL is not guaranteed consistent; a dump is a snapshot of one
transaction. The task runs OpenRemote's own PostgreSQL image, so pg_dump matches the server's major
version, with ``bash -c`` as its entry point: the image's entrypoint would append
``-c max_connections=50`` to any command, which pg_dump reads as ``--clean`` plus a stray argument.

The same task definition runs ``herd-cfn restore --dump`` with :data:`RESTORE_SCRIPT` as its command.
It runs as the restore task's role and in the restore task's security group: one role and group for
the two maintenance tasks (each task definition mounts only its own access points). A ``herd-dump: done``
log line counts as a success; no success in 26 hours alarms (a failed scheduled dump included; a failed
dump before a deployment also fails the deployment, and the pipeline notifies).
"""

from __future__ import annotations

from awacs import ecs as ecs_actions
from awacs import iam as iam_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from awacs.sts import AssumeRole
from troposphere import AccountId, GetAtt, Ref, Region, Template, cloudwatch, ec2, ecs, events, iam, logs

from herd_cfn.templates.helpers import RETAIN, D, S, data, logs_key, private_subnets, secret_value
from herd_cfn.templates.stacks.service import roles
from herd_cfn.templates.stacks.service.tasks import DB_USER, POSTGRES_HOST

DUMPS_MOUNT = "/dumps"
DATABASE = "openremote"
CPU = "512"  # pg_dump -Fc compresses with zlib on one core
MEMORY = "1024"
SCHEDULE = "cron(30 2 * * ? *)"  # UTC; the data stack's daily backup starts at 03:00
METRIC_NAMESPACE = "herd"
DONE = "herd-dump: done"
# "None finished in 26 hours": CloudWatch allows Period x EvaluationPeriods up to 7 days for periods of an
# hour or more (one day below an hour), so 26 hourly periods without a success, missing data breaching. A
# daily dump leaves 23-24 empty hours between two successes, so a dump that ends an hour late does not
# alarm, and a failed or missed one alarms 24-26 hours after the last success. One alarm, not a second
# one on failures: the failure line is not written when the task dies (out of memory, not started).
MISSING_HOURS = 26

# $1: the dumps directory. Names carry the UTC time (and DUMP_LABEL, the deployment id when the hook runs
# it), so they sort by age and pruning needs no file dates. Only bash built-ins, pg_dump, mv and rm: the
# -slim image keeps little else. pg_dump writes to a hidden partial file first, so every
# openremote-*.dump is complete. Files older than KEEP_DAYS days are pruned after a successful dump only.
DUMP_SCRIPT = """set -euo pipefail
dir="$1"
printf -v stamp '%(%Y%m%dT%H%M%SZ)T' -1
name="openremote-$stamp${DUMP_LABEL:+-$DUMP_LABEL}.dump"
partial="$dir/.$name.partial"
trap 'echo "herd-dump: FAILED writing $name" >&2; rm -f "$partial"' ERR
pg_dump -Fc -f "$partial"
mv "$partial" "$dir/$name"
echo "herd-dump: wrote $name"
printf -v cutoff '%(%Y%m%d)T' $((EPOCHSECONDS - KEEP_DAYS * 86400))
for old in "$dir"/openremote-*.dump; do
  day="${old##*/openremote-}"
  if [[ -e "$old" && "${day:0:8}" < "$cutoff" ]]; then rm -f "$old"; echo "herd-dump: pruned ${old##*/}"; fi
done
echo "herd-dump: done $name"
"""

# $1: the dumps directory, $2: the dump's file name. TimescaleDB's documented restore: a fresh database,
# the extension, timescaledb_pre_restore(), pg_restore, timescaledb_post_restore() - the last one even
# when pg_restore reported errors, so the database never stays in restoring mode.
RESTORE_SCRIPT = """set -uo pipefail
dump="$1/$2" db="$PGDATABASE"
[[ -f "$dump" && "$2" != */* ]] || { echo "herd-restore: no dump $2 in $1" >&2; exit 3; }
set -e
psql -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psql -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS timescaledb" -c "SELECT timescaledb_pre_restore()"
set +e
pg_restore -d "$db" "$dump"
status=$?
set -e
psql -v ON_ERROR_STOP=1 -c "SELECT timescaledb_post_restore()"
[[ $status -eq 0 ]] || { echo "herd-restore: pg_restore reported errors (exit $status), see above" >&2; exit 4; }
echo "herd-restore: done $2"
"""


def network_configuration() -> dict:
    """Subnets and groups of the dump task: the restore task's group (egress 443 and 5432 to PostgreSQL)."""
    return {"Subnets": private_subnets(), "SecurityGroups": [GetAtt(S.RESTORE_SG, "GroupId"),
                                                             data(D.OUT_EFS_CLIENT_SECURITY_GROUP)]}


def build(t: Template) -> None:
    t.add_resource(ec2.SecurityGroupEgress(
        S.DUMP_TO_POSTGRES_EGRESS, GroupId=GetAtt(S.RESTORE_SG, "GroupId"), IpProtocol="tcp",
        FromPort=S.POSTGRES_PORT, ToPort=S.POSTGRES_PORT, DestinationSecurityGroupId=GetAtt(S.POSTGRES_SG, "GroupId"),
        Description="Postgres"))
    t.add_resource(logs.LogGroup(
        S.DUMP_LOG_GROUP, **RETAIN, LogGroupName=S.log_group(S.DUMP_CONTAINER), RetentionInDays=Ref(S.LOG_RETENTION),
        KmsKeyId=logs_key()))
    t.add_resource(ecs.TaskDefinition(
        S.DUMP_TASK, Family=S.DUMP_TASK_FAMILY, RequiresCompatibilities=["FARGATE"], NetworkMode="awsvpc",
        Cpu=CPU, Memory=MEMORY, ExecutionRoleArn=roles.arn(S.EXECUTION_ROLE),
        TaskRoleArn=roles.arn(S.RESTORE_TASK_ROLE),
        Volumes=[ecs.Volume(Name="dumps", EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
            FilesystemId=data(D.OUT_FILE_SYSTEM_ID), TransitEncryption="ENABLED",
            AuthorizationConfig=ecs.AuthorizationConfig(AccessPointId=data(D.OUT_DUMPS_ACCESS_POINT), IAM="ENABLED")))],
        ContainerDefinitions=[ecs.ContainerDefinition(
            Name=S.DUMP_CONTAINER, Image=Ref(S.POSTGRES_IMAGE), ReadonlyRootFilesystem=True,
            EntryPoint=["bash", "-c"], Command=[DUMP_SCRIPT, "herd-dump", DUMPS_MOUNT],
            Environment=[ecs.Environment(Name=k, Value=v) for k, v in (
                ("KEEP_DAYS", Ref(S.DUMP_RETENTION)), ("PGDATABASE", DATABASE), ("PGHOST", POSTGRES_HOST),
                ("PGUSER", DB_USER), ("TZ", "UTC"))],
            Secrets=[ecs.Secret(Name="PGPASSWORD", ValueFrom=secret_value(D.OUT_DB_SECRET_ARN, "password"))],
            MountPoints=[ecs.MountPoint(SourceVolume="dumps", ContainerPath=DUMPS_MOUNT)],
            LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(S.DUMP_LOG_GROUP), "awslogs-region": Region,
                "awslogs-stream-prefix": S.DUMP_CONTAINER}),
        )],
    ))
    _schedule(t)
    _alarms(t)


def _schedule(t: Template) -> None:
    t.add_resource(iam.Role(
        S.DUMP_SCHEDULE_ROLE,
        AssumeRolePolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Effect=Allow, Principal=Principal("Service", "events.amazonaws.com"), Action=[AssumeRole],
            Condition=Condition(StringEquals("aws:SourceAccount", AccountId)))]),
        Policies=[iam.Policy(PolicyName="run-dump", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[
            Statement(Effect=Allow, Action=[ecs_actions.RunTask], Resource=[Ref(S.DUMP_TASK)],
                      Condition=Condition(ArnEquals("ecs:cluster", GetAtt(S.CLUSTER, "Arn")))),
            Statement(Effect=Allow, Action=[iam_actions.PassRole],
                      Resource=[roles.arn(S.EXECUTION_ROLE), roles.arn(S.RESTORE_TASK_ROLE)]),
        ]))],
    ))
    net = network_configuration()
    t.add_resource(events.Rule(
        S.DUMP_SCHEDULE_RULE, ScheduleExpression=SCHEDULE, Targets=[events.Target(
            Id="dump", Arn=GetAtt(S.CLUSTER, "Arn"), RoleArn=GetAtt(S.DUMP_SCHEDULE_ROLE, "Arn"),
            EcsParameters=events.EcsParameters(
                TaskDefinitionArn=Ref(S.DUMP_TASK), TaskCount=1, LaunchType="FARGATE",
                NetworkConfiguration=events.NetworkConfiguration(AwsVpcConfiguration=events.AwsVpcConfiguration(
                    Subnets=net["Subnets"], SecurityGroups=net["SecurityGroups"], AssignPublicIp="DISABLED"))))],
    ))


def _alarms(t: Template) -> None:
    t.add_resource(logs.MetricFilter(
        S.DUMP_SUCCESS_FILTER, LogGroupName=Ref(S.DUMP_LOG_GROUP), FilterPattern=f'"{DONE}"',
        MetricTransformations=[logs.MetricTransformation(
            MetricNamespace=METRIC_NAMESPACE, MetricName="DumpSucceeded", MetricValue="1")]))
    t.add_resource(cloudwatch.Alarm(
        S.ALARM_DUMP_MISSING, AlarmName=S.alarm_name("dump-missing"), Namespace=METRIC_NAMESPACE,
        MetricName="DumpSucceeded", Statistic="Sum", Period=3600, EvaluationPeriods=MISSING_HOURS, Threshold=1,
        ComparisonOperator="LessThanThreshold", TreatMissingData="breaching", AlarmActions=[Ref(S.ALARM_TOPIC)]))
