"""The ECS cluster, Cloud Map names and the three Fargate services: postgresql, keycloak, manager.

The manager service is the one CodeDeploy owns (DeploymentController CODE_DEPLOY). CloudFormation
cannot change the task definition of such a service ("Unable to update task definition on services
with a CODE_DEPLOY deployment controller"), so the service names its task definition by family only
(``herd-manager``: ECS takes the newest ACTIVE revision when it creates the service) and nothing in
its properties depends on the manager's configuration. The configuration lives in the separate
task definition resource of that family: changing it makes CloudFormation register a new revision —
the newest one — without touching the service, and the next pipeline run deploys that revision with
its freshly built image.
"""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, Region, Sub, Template, ecs, logs, servicediscovery

from herd_cfn.templates.helpers import (
    RETAIN,
    D,
    E,
    N,
    S,
    data,
    edge,
    logs_key,
    network,
    private_subnets,
    secret_value,
    skip,
)
from herd_cfn.templates.stacks.service import exec_access, roles
from herd_cfn.templates.stacks.service.config import KEYCLOAK_MAX_TASKS

# The data stack's database secret is {"username": "postgres", "password": ...}; postgres is also the
# images' default user and database openremote their default database.
DB_USER = "postgres"
POSTGRES_HOST = f"{S.POSTGRES_SERVICE_NAME}.{S.NAMESPACE}"
KEYCLOAK_HOST = f"{S.KEYCLOAK_SERVICE_NAME}.{S.NAMESPACE}"
STORAGE_PATH = "/storage"
PGDATA = "/var/lib/postgresql/data"  # PGDATA of openremote/postgresql
# Fargate has no shm_size and a small /dev/shm, where PostgreSQL's dynamic shared memory (posix) lives.
# Its main user is parallel query; with parallel workers off, the segments stay small. (mmap would put
# them in files under PGDATA, i.e. on EFS, and write them back over NFS.) A 1-2 vCPU task gains little
# from parallel plans anyway.
POSTGRES_SETTINGS = ("max_parallel_workers_per_gather=0", "max_parallel_maintenance_workers=0")
# Database connections (the image allows 50). Blue/green runs two managers side by side for minutes;
# a Keycloak rolling deployment (maximum 200%) runs twice the Keycloak tasks for as long, and both may
# meet when a rollout and a pipeline run overlap; the dump task (pg_dump, one connection; a few
# allowed) may run during either; an operator's psql sessions are the headroom. Sized for the largest
# Keycloak count the parameters allow, so changing the count never restarts PostgreSQL.
# tests/templates/test_safety.py adds them up from the rendered template.
MANAGER_DB_POOL = 20  # OR_DB_POOL_MAX_SIZE, as in OpenRemote's deploy profile
KEYCLOAK_DB_POOL = 20  # KC_DB_POOL_MAX_SIZE, as in OpenRemote's deploy profile (Keycloak's default is 100)
DUMP_CONNECTIONS = 3
HEADROOM_CONNECTIONS = 10
MAX_CONNECTIONS = (2 * MANAGER_DB_POOL + 2 * KEYCLOAK_MAX_TASKS * KEYCLOAK_DB_POOL + DUMP_CONNECTIONS
                   + HEADROOM_CONNECTIONS)
FARGATE_MAX_STOP_TIMEOUT = 120  # seconds; PostgreSQL needs the time for a clean shutdown checkpoint
MANAGER_GRACE_SECONDS = 600  # first start migrates the database and sets up realms


def _env(**values: object) -> list[ecs.Environment]:
    return [ecs.Environment(Name=k, Value=v) for k, v in sorted(values.items())]


def _secrets(**arns: object) -> list[ecs.Secret]:
    return [ecs.Secret(Name=k, ValueFrom=v) for k, v in sorted(arns.items())]


def _logs(container: str, group: str) -> ecs.LogConfiguration:
    return ecs.LogConfiguration(LogDriver="awslogs", Options={
        "awslogs-group": Ref(group), "awslogs-region": Region, "awslogs-stream-prefix": container,
    })


def _efs_volume(name: str, access_point_output: str) -> ecs.Volume:
    return ecs.Volume(Name=name, EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
        FilesystemId=data(D.OUT_FILE_SYSTEM_ID), TransitEncryption="ENABLED",
        AuthorizationConfig=ecs.AuthorizationConfig(AccessPointId=data(access_point_output), IAM="ENABLED"),
    ))


def _health(command: str, start_period: int) -> ecs.HealthCheck:
    # ECS defaults otherwise: every 30 s, 5 s timeout, unhealthy after 3 failures.
    return ecs.HealthCheck(Command=["CMD-SHELL", command], StartPeriod=start_period)


_WRITABLE_ROOT = skip(("CKV_AWS_336", "OpenRemote images write outside volumes"))


def _task(t: Template, name: str, family: str, cpu: str, memory: str, container: dict,
          task_role: str | None = None, volumes: list | None = None, **extra) -> ecs.TaskDefinition:
    return t.add_resource(ecs.TaskDefinition(
        name, Family=family, RequiresCompatibilities=["FARGATE"], NetworkMode="awsvpc",
        Cpu=Ref(cpu), Memory=Ref(memory),
        ExecutionRoleArn=roles.arn(S.EXECUTION_ROLE), TaskRoleArn=roles.arn(task_role) if task_role else NoValue,
        Volumes=volumes or NoValue, ContainerDefinitions=[ecs.ContainerDefinition(**container)],  # alone, so essential
        Metadata=_WRITABLE_ROOT, **extra,
    ))


def _network(*groups: object) -> ecs.NetworkConfiguration:
    return ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
        Subnets=private_subnets(), SecurityGroups=list(groups), AssignPublicIp="DISABLED"))


def _sg(name: str) -> GetAtt:
    return GetAtt(name, "GroupId")


def build(t: Template) -> None:
    t.add_resource(ecs.Cluster(S.CLUSTER, ClusterName=S.CLUSTER_NAME, ClusterSettings=[
        ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
        Configuration=exec_access.cluster_configuration()))
    t.add_resource(servicediscovery.PrivateDnsNamespace(
        S.NAMESPACE_RESOURCE, Name=S.NAMESPACE, Vpc=network(N.OUT_VPC_ID)))
    for resource, service in ((S.POSTGRES_DISCOVERY, S.POSTGRES_SERVICE_NAME),
                              (S.KEYCLOAK_DISCOVERY, S.KEYCLOAK_SERVICE_NAME)):
        t.add_resource(servicediscovery.Service(
            resource, Name=service, NamespaceId=Ref(S.NAMESPACE_RESOURCE),
            DnsConfig=servicediscovery.DnsConfig(DnsRecords=[servicediscovery.DnsRecord(Type="A", TTL=10)]),
            HealthCheckCustomConfig=servicediscovery.HealthCheckCustomConfig(),  # ECS reports task health
        ))
    for group, container in ((S.POSTGRES_LOG_GROUP, S.POSTGRES_CONTAINER),
                             (S.KEYCLOAK_LOG_GROUP, S.KEYCLOAK_CONTAINER),
                             (S.MANAGER_LOG_GROUP, S.MANAGER_CONTAINER)):
        t.add_resource(logs.LogGroup(group, **RETAIN, LogGroupName=S.log_group(container),
                                     RetentionInDays=Ref(S.LOG_RETENTION), KmsKeyId=logs_key()))

    _postgres(t)
    _keycloak(t)
    _manager(t)


def _postgres(t: Template) -> None:
    _task(t, S.POSTGRES_TASK, f"{S.CLUSTER_NAME}-{S.POSTGRES_CONTAINER}", S.POSTGRES_CPU, S.POSTGRES_MEMORY,
          task_role=S.POSTGRES_TASK_ROLE,
          volumes=[_efs_volume("pgdata", D.OUT_POSTGRES_ACCESS_POINT), _efs_volume("storage",
                                                                                   D.OUT_MANAGER_ACCESS_POINT)],
          container=dict(
              Name=S.POSTGRES_CONTAINER, Image=Ref(S.POSTGRES_IMAGE),
              # The image's entrypoint appends -c max_connections; these settings go to the same command.
              Command=["postgres", *(arg for setting in POSTGRES_SETTINGS for arg in ("-c", setting))],
              PortMappings=[ecs.PortMapping(ContainerPort=S.POSTGRES_PORT)],
              Environment=_env(TZ=Ref(S.TIME_ZONE), PGTZ=Ref(S.TIME_ZONE), POSTGRES_USER=DB_USER,
                               POSTGRES_MAX_CONNECTIONS=str(MAX_CONNECTIONS)),
              Secrets=_secrets(POSTGRES_PASSWORD=secret_value(D.OUT_DB_SECRET_ARN, "password")),
              MountPoints=[ecs.MountPoint(SourceVolume="pgdata", ContainerPath=PGDATA),
                           ecs.MountPoint(SourceVolume="storage", ContainerPath=STORAGE_PATH)],
              HealthCheck=_health(f'pg_isready -h 127.0.0.1 -p {S.POSTGRES_PORT} -U "$POSTGRES_USER"', 300),
              StopTimeout=FARGATE_MAX_STOP_TIMEOUT, LogConfiguration=_logs(S.POSTGRES_CONTAINER, S.POSTGRES_LOG_GROUP),
          ))
    t.add_resource(ecs.Service(
        S.POSTGRES_SERVICE, Cluster=Ref(S.CLUSTER), ServiceName=S.POSTGRES_SERVICE_NAME,
        TaskDefinition=Ref(S.POSTGRES_TASK), LaunchType="FARGATE", DesiredCount=1,
        # One task, never two: a deployment stops the old task before it starts the new one, and
        # nothing (no rebalancing, no autoscaling target) may start a second one on the same data.
        DeploymentController=ecs.DeploymentController(Type="ECS"),
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            MinimumHealthyPercent=0, MaximumPercent=100,
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True)),
        AvailabilityZoneRebalancing="DISABLED",
        NetworkConfiguration=_network(_sg(S.POSTGRES_SG), data(D.OUT_EFS_CLIENT_SECURITY_GROUP)),
        ServiceRegistries=[ecs.ServiceRegistry(RegistryArn=GetAtt(S.POSTGRES_DISCOVERY, "Arn"))],
        EnableECSManagedTags=True, PropagateTags="SERVICE", EnableExecuteCommand=exec_access.enabled_on_service(),
    ))


def _keycloak(t: Template) -> None:
    _task(t, S.KEYCLOAK_TASK, S.KEYCLOAK_TASK_FAMILY, S.KEYCLOAK_CPU, S.KEYCLOAK_MEMORY,
          task_role=S.KEYCLOAK_TASK_ROLE,
          container=dict(
              Name=S.KEYCLOAK_CONTAINER, Image=Ref(S.KEYCLOAK_IMAGE),
              PortMappings=[ecs.PortMapping(ContainerPort=S.KEYCLOAK_HTTP_PORT)],
              Environment=_env(
                  TZ=Ref(S.TIME_ZONE), KC_HOSTNAME=Ref(S.DOMAIN), KC_HOSTNAME_PORT="-1",
                  # The ALB terminates TLS: trust its X-Forwarded-* headers (KC_PROXY before Keycloak 24).
                  # The image's defaults give HTTP on 8080, database openremote, schema public.
                  KC_PROXY="edge", KC_PROXY_HEADERS="xforwarded", KC_DB_URL_HOST=POSTGRES_HOST, KC_DB_USERNAME=DB_USER,
                  KC_DB_POOL_MAX_SIZE=str(KEYCLOAK_DB_POOL),
              ),
              # Keycloak creates its master admin from the OpenRemote admin secret: the manager logs in
              # as that user with OR_ADMIN_PASSWORD (KeycloakIdentityProvider), so the two must match.
              Secrets=_secrets(KC_DB_PASSWORD=secret_value(D.OUT_DB_SECRET_ARN, "password"),
                               KEYCLOAK_ADMIN_PASSWORD=secret_value(D.OUT_ADMIN_SECRET_ARN, "password")),
              HealthCheck=_health(
                  f"curl --head -fsS http://localhost:{S.KEYCLOAK_HTTP_PORT}/auth/health/ready || exit 1", 180),
              StopTimeout=30, LogConfiguration=_logs(S.KEYCLOAK_CONTAINER, S.KEYCLOAK_LOG_GROUP),
          ))
    t.add_resource(ecs.Service(
        # ECS needs the target group behind a listener: the edge stack, complete before this one, has it.
        S.KEYCLOAK_SERVICE, DependsOn=[S.POSTGRES_SERVICE],
        Cluster=Ref(S.CLUSTER), ServiceName=S.KEYCLOAK_SERVICE_NAME, TaskDefinition=Ref(S.KEYCLOAK_TASK),
        LaunchType="FARGATE", DesiredCount=Ref(S.KEYCLOAK_COUNT),
        DeploymentController=ecs.DeploymentController(Type="ECS"),
        DeploymentConfiguration=ecs.DeploymentConfiguration(  # rolling, 100%/200% (ECS defaults)
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True)),
        HealthCheckGracePeriodSeconds=300,
        LoadBalancers=[ecs.LoadBalancer(ContainerName=S.KEYCLOAK_CONTAINER, ContainerPort=S.KEYCLOAK_HTTP_PORT,
                                        TargetGroupArn=edge(E.OUT_KEYCLOAK_TARGET_GROUP_ARN))],
        NetworkConfiguration=_network(_sg(S.KEYCLOAK_SG)),
        ServiceRegistries=[ecs.ServiceRegistry(RegistryArn=GetAtt(S.KEYCLOAK_DISCOVERY, "Arn"))],
        EnableECSManagedTags=True, PropagateTags="SERVICE", EnableExecuteCommand=exec_access.enabled_on_service(),
    ))


def manager_container() -> dict:
    """The manager container: every OR_* setting, secrets only through ``secrets``."""
    # SMTP settings come from the optional email secret's JSON keys; without it nothing references it.
    email = [If(S.HAS_EMAIL, ecs.Secret(Name=name, ValueFrom=Sub("${%s}:%s::" % (S.EMAIL_SECRET_ARN, key))), NoValue)
             for name, key in (("OR_EMAIL_FROM", "from"), ("OR_EMAIL_HOST", "host"), ("OR_EMAIL_PASSWORD", "password"),
                               ("OR_EMAIL_PORT", "port"), ("OR_EMAIL_USER", "user"))]
    secrets = [*_secrets(OR_ADMIN_PASSWORD=secret_value(D.OUT_ADMIN_SECRET_ARN, "password"),
                         OR_DB_PASSWORD=secret_value(D.OUT_DB_SECRET_ARN, "password")),
               *email]
    return dict(
        Name=S.MANAGER_CONTAINER, Image=Ref(S.MANAGER_IMAGE),
        PortMappings=[ecs.PortMapping(ContainerPort=S.MANAGER_HTTP_PORT),
                      ecs.PortMapping(ContainerPort=S.MANAGER_MQTT_PORT)],
        Environment=_env(
            TZ=Ref(S.TIME_ZONE), OR_HOSTNAME=Ref(S.DOMAIN), OR_SSL_PORT="-1",  # -1: the default 443
            OR_DEV_MODE="false",
            # Never true: it wipes the database at every start.
            OR_SETUP_RUN_ON_RESTART="false", OR_SETUP_TYPE=Ref(S.SETUP_TYPE),
            # The image's defaults give database openremote, schema openremote, ports 5432 and 8080.
            OR_DB_HOST=POSTGRES_HOST, OR_DB_USER=DB_USER, OR_DB_POOL_MAX_SIZE=str(MANAGER_DB_POOL),
            OR_KEYCLOAK_HOST=KEYCLOAK_HOST,
            OR_STORAGE_DIR=STORAGE_PATH, OR_METRICS_ENABLED="true",
            OR_EMAIL_TLS=If(S.HAS_EMAIL, "true", "false"),
        ),
        Secrets=secrets,
        MountPoints=[ecs.MountPoint(SourceVolume="storage", ContainerPath=STORAGE_PATH)],
        HealthCheck=_health(f"curl --fail --silent http://localhost:{S.MANAGER_HTTP_PORT} || exit 1", 300),
        # The old task of a blue/green deployment gets Fargate's maximum to close agents, MQTT sessions and
        # its database pool after SIGTERM. A new revision only: the service never names it (see above).
        StopTimeout=FARGATE_MAX_STOP_TIMEOUT, LogConfiguration=_logs(S.MANAGER_CONTAINER, S.MANAGER_LOG_GROUP),
    )


def _manager(t: Template) -> None:
    _task(t, S.MANAGER_TASK, S.MANAGER_TASK_FAMILY, S.MANAGER_CPU, S.MANAGER_MEMORY,
          task_role=S.MANAGER_TASK_ROLE, volumes=[_efs_volume("storage", D.OUT_MANAGER_ACCESS_POINT)],
          container=manager_container())
    t.add_resource(ecs.Service(
        S.MANAGER_SERVICE,
        # The task definition must exist (as the newest revision of the family) before the service.
        DependsOn=[S.MANAGER_TASK, S.KEYCLOAK_SERVICE],
        Cluster=Ref(S.CLUSTER), ServiceName=S.MANAGER_SERVICE_NAME,
        # The family without a revision: constant, so no configuration change ever touches this resource.
        TaskDefinition=S.MANAGER_TASK_FAMILY,
        LaunchType="FARGATE", DesiredCount=1,  # the manager does not support replicas
        DeploymentController=ecs.DeploymentController(Type="CODE_DEPLOY"),
        HealthCheckGracePeriodSeconds=MANAGER_GRACE_SECONDS,
        # CODE_DEPLOY allows exactly one target group here; CodeDeploy swaps it with the green one.
        LoadBalancers=[ecs.LoadBalancer(ContainerName=S.MANAGER_CONTAINER, ContainerPort=S.MANAGER_HTTP_PORT,
                                        TargetGroupArn=edge(E.OUT_BLUE_TARGET_GROUP_ARN))],
        NetworkConfiguration=_network(_sg(S.MANAGER_SG), data(D.OUT_EFS_CLIENT_SECURITY_GROUP)),
        EnableECSManagedTags=True, PropagateTags="SERVICE",
        # Constant, never the switch (exec_access): CodeDeploy's replacement tasks take it from the
        # service, and the IAM policy decides whether a session can open.
        EnableExecuteCommand=True,
    ))
