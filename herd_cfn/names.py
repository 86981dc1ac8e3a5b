"""Every name that AWS keeps: logical IDs, export names, stack and StackSet names.

Logical IDs are API. Renaming one makes CloudFormation replace the real resource (a new VPC, a new
file system), so every logical ID lives here, in one place, and tests/test_names.py pins them. Add
new names; do not rename old ones.
"""

from __future__ import annotations

PROJECT = "herd"

# Stack names, as used by the registry, output/ file names, StackSet names and export prefixes.
NETWORK = "network"
DATA = "data"
EDGE = "edge"
SERVICE = "service"
TRAFFIC = "traffic"
PIPELINE = "pipeline"
DASHBOARD = "dashboard"
STACKSET_ADMINISTRATION = "stackset-administration"
STACKSET_EXECUTION = "stackset-execution"


def stackset_name(stack: str) -> str:
    return f"{PROJECT}-{stack}"


def stack_name(stack: str) -> str:
    """Name of the stack when deployed directly (``herd-cfn deploy`` / ``aws cloudformation deploy``)."""
    return f"{PROJECT}-{stack}"


def export_name(stack: str, output: str) -> str:
    """Export names are fixed per account and region, e.g. ``herd-network-VpcId``.

    They do not contain the stack name, because a StackSet instance's stack is called
    ``StackSet-herd-network-<uuid>`` while a directly deployed one is ``herd-network``; both must
    export the same names so the dependent stacks import the same values either way.
    """
    return f"{PROJECT}-{stack}-{output}"


# The parameter (service and pipeline stacks) that says where Docker Hub's images come from: "docker.io", or
# the data stack's pull-through cache in the account's ECR; and the condition that it is the cache.
DOCKER_HUB_MIRROR = "DockerHubMirror"
USES_DOCKER_HUB_CACHE = "UsesDockerHubCache"

# The StackSet roles AWS expects by default (self-managed permissions).
ADMINISTRATION_ROLE_NAME = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE_NAME = "AWSCloudFormationStackSetExecutionRole"
# The customer managed policy every IAM role of the StackSet stacks carries as its permissions boundary;
# the bootstrap stack creates it in each environment's account (herd_cfn/templates/boundary.py).
PERMISSIONS_BOUNDARY_NAME = f"{PROJECT}-permissions-boundary"
# What a StackSet instance creates without a fixed name is named after the instance's stack,
# StackSet-herd-<stack>-<id>: its roles, log groups and (lower-cased) buckets.
STACKSET_INSTANCE_PREFIX = f"StackSet-{PROJECT}-"


class Network:
    # Parameters
    VPC_CIDR = "VpcCidr"
    AZ_COUNT = "AzCount"
    NAT_GATEWAY_COUNT = "NatGatewayCount"
    PUBLIC_SUBNET_CIDRS = "PublicSubnetCidrs"
    PRIVATE_SUBNET_CIDRS = "PrivateSubnetCidrs"
    FLOW_LOG_RETENTION = "FlowLogRetentionDays"
    # Conditions
    THREE_AZS = "ThreeAzs"
    NAT_PER_AZ = "NatPerAz"
    NAT_PER_AZ_AND_THREE_AZS = "NatPerAzAndThreeAzs"
    # Resources
    VPC = "Vpc"
    INTERNET_GATEWAY = "InternetGateway"
    GATEWAY_ATTACHMENT = "InternetGatewayAttachment"
    PUBLIC_ROUTE_TABLE = "PublicRouteTable"
    PUBLIC_DEFAULT_ROUTE = "PublicDefaultRoute"
    S3_ENDPOINT = "S3GatewayEndpoint"
    FLOW_LOG_GROUP = "FlowLogGroup"
    FLOW_LOG_ROLE = "FlowLogRole"
    FLOW_LOG = "FlowLog"
    AZ_LETTERS = ("A", "B", "C")

    @staticmethod
    def public_subnet(az: str) -> str:
        return f"PublicSubnet{az}"

    @staticmethod
    def private_subnet(az: str) -> str:
        return f"PrivateSubnet{az}"

    @staticmethod
    def public_subnet_route(az: str) -> str:
        return f"PublicSubnet{az}RouteTableAssociation"

    @staticmethod
    def private_route_table(az: str) -> str:
        return f"PrivateRouteTable{az}"

    @staticmethod
    def private_subnet_route(az: str) -> str:
        return f"PrivateSubnet{az}RouteTableAssociation"

    @staticmethod
    def private_default_route(az: str) -> str:
        return f"PrivateDefaultRoute{az}"

    @staticmethod
    def nat_eip(az: str) -> str:
        return f"NatEip{az}"

    @staticmethod
    def nat_gateway(az: str) -> str:
        return f"NatGateway{az}"

    # Outputs / exports
    OUT_VPC_ID = "VpcId"
    OUT_VPC_CIDR = "VpcCidr"
    OUT_PUBLIC_SUBNETS = "PublicSubnetIds"
    OUT_PRIVATE_SUBNETS = "PrivateSubnetIds"
    OUT_AZ_COUNT = "AzCount"


class Bootstrap:
    ADMINISTRATOR_ACCOUNT_ID = "AdministratorAccountId"
    TARGET_ACCOUNT_IDS = "TargetAccountIds"
    ADMINISTRATION_ROLE = "AdministrationRole"
    EXECUTION_ROLE = "ExecutionRole"
    PERMISSIONS_BOUNDARY = "PermissionsBoundary"
    OUT_PERMISSIONS_BOUNDARY_ARN = "PermissionsBoundaryArn"


class Data:
    """Names of the data stack (EFS, backups, secrets, ECR)."""

    # Parameters
    AZ_COUNT = "AzCount"
    EFS_THROUGHPUT_MODE = "EfsThroughputMode"
    EFS_TRANSITION_TO_IA = "EfsTransitionToIa"
    BACKUP_DAILY_RETENTION = "BackupDailyRetentionDays"
    BACKUP_WEEKLY_RETENTION = "BackupWeeklyRetentionDays"
    BACKUP_MONTHLY_RETENTION = "BackupMonthlyRetentionDays"
    BACKUP_COLD_STORAGE_AFTER = "BackupMonthlyColdStorageAfterDays"
    ECR_IMAGES_TO_KEEP = "EcrImagesToKeep"
    EXEC_LOG_RETENTION = "ExecLogRetentionDays"
    # The Secrets Manager ARN of the Docker Hub login of ECR's pull-through cache (not a secret value).
    DOCKER_HUB_CACHE_LOGIN_ARN = "DockerHubCacheLoginArn"
    # Conditions
    THREE_AZS = "ThreeAzs"
    EFS_USES_IA = "EfsUsesInfrequentAccess"
    WEEKLY_BACKUPS = "WeeklyBackups"
    MONTHLY_BACKUPS = "MonthlyBackups"
    MONTHLY_COLD_STORAGE = "MonthlyBackupsMoveToColdStorage"
    HAS_DOCKER_HUB_CACHE = "DockerHubCacheEnabled"
    # Resources
    FILE_SYSTEM = "FileSystem"
    EFS_SECURITY_GROUP = "EfsSecurityGroup"
    EFS_CLIENT_SECURITY_GROUP = "EfsClientSecurityGroup"
    EFS_INGRESS_FROM_CLIENTS = "EfsIngressFromClients"
    EFS_CLIENT_EGRESS_TO_EFS = "EfsClientEgressToEfs"
    POSTGRES_ACCESS_POINT = "PostgresAccessPoint"
    MANAGER_ACCESS_POINT = "ManagerStorageAccessPoint"
    # Rooted at "/" for the restore task (herd-cfn restore): one per owner of a live directory.
    RESTORE_POSTGRES_ACCESS_POINT = "RestoreAsPostgresAccessPoint"
    RESTORE_MANAGER_ACCESS_POINT = "RestoreAsManagerStorageAccessPoint"
    # pg_dump files of the dump task (uid 70): outlive every stack, backed up with the file system.
    DUMPS_ACCESS_POINT = "DumpsAccessPoint"
    BACKUP_VAULT = "BackupVault"
    BACKUP_PLAN = "BackupPlan"
    BACKUP_SELECTION = "BackupSelection"
    BACKUP_ROLE = "BackupRole"
    DB_SECRET = "DatabaseSecret"
    ADMIN_SECRET = "AdminPasswordSecret"
    KEYCLOAK_SECRET = "KeycloakAdminSecret"  # dropped (unused); retained in AWS until deleted by hand
    ECR_REPOSITORY = "ManagerImageRepository"
    # OpenRemote's Keycloak image with the custom project's themes (the pipeline builds it).
    KEYCLOAK_ECR_REPOSITORY = "KeycloakImageRepository"
    # ECS Exec sessions of the service stack's tasks: the audit trail outlives the tasks and that stack.
    EXEC_KEY = "ExecSessionKey"
    LOGS_KEY = "LogsKey"  # encrypts the log groups of the stacks after this one
    EXEC_LOG_GROUP = "ExecSessionLogGroup"
    EXEC_LOG_GROUP_NAME = f"/{PROJECT}/exec"
    # ECR's pull-through cache of Docker Hub (herd_cfn/templates/docker_hub.py): the rule, and the settings
    # of the repositories ECR creates under its prefix on a first pull.
    DOCKER_HUB_CACHE_RULE = "DockerHubPullThroughCacheRule"
    DOCKER_HUB_CACHE_REPOSITORIES = "DockerHubCacheRepositoryTemplate"

    @staticmethod
    def mount_target(az: str) -> str:
        return f"MountTarget{az}"

    # Fixed physical names: retained resources keep them, so a re-created stack finds (and must
    # import) the old ones instead of silently starting a second copy next to them.
    BACKUP_VAULT_NAME = f"{PROJECT}-data"
    BACKUP_PLAN_NAME = f"{PROJECT}-efs"
    DB_SECRET_NAME = f"{PROJECT}/database"
    ADMIN_SECRET_NAME = f"{PROJECT}/openremote-admin"
    KEYCLOAK_SECRET_NAME = f"{PROJECT}/keycloak-admin"
    ECR_REPOSITORY_NAME = f"{PROJECT}/openremote-manager"
    # Docker Hub's images through the cache: <account>.dkr.ecr.<region>.amazonaws.com/herd/docker-hub/<image>.
    DOCKER_HUB_CACHE_PREFIX = f"{PROJECT}/docker-hub"
    KEYCLOAK_ECR_REPOSITORY_NAME = f"{PROJECT}/openremote-keycloak"
    # The one mutable tag of the manager repository: BuildKit's registry cache (buildspec.yml). Every other
    # tag is a commit and immutable; the lifecycle policy never expires this one.
    BUILD_CACHE_TAG = "buildcache"
    # Every secret is JSON {"username": ..., "password": ...}; ECS reads one key with
    # "<secret arn>:password::" in a container's secrets.
    SECRET_PASSWORD_KEY = "password"
    SECRET_USERNAME_KEY = "username"

    # Outputs / exports (agreed with the service and pipeline stacks; export_name(DATA, ...))
    OUT_FILE_SYSTEM_ID = "FileSystemId"
    OUT_FILE_SYSTEM_ARN = "FileSystemArn"
    OUT_EFS_CLIENT_SECURITY_GROUP = "EfsClientSecurityGroupId"  # tasks that mount EFS attach this group
    OUT_POSTGRES_ACCESS_POINT = "PostgresAccessPointId"
    OUT_POSTGRES_ACCESS_POINT_ARN = "PostgresAccessPointArn"
    OUT_MANAGER_ACCESS_POINT = "ManagerStorageAccessPointId"
    OUT_MANAGER_ACCESS_POINT_ARN = "ManagerStorageAccessPointArn"
    OUT_DB_SECRET_ARN = "DatabaseSecretArn"
    OUT_ADMIN_SECRET_ARN = "AdminPasswordSecretArn"
    OUT_ECR_REPOSITORY_NAME = "EcrRepositoryName"
    OUT_ECR_REPOSITORY_ARN = "EcrRepositoryArn"
    OUT_ECR_REPOSITORY_URI = "EcrRepositoryUri"
    OUT_KEYCLOAK_ECR_REPOSITORY_ARN = "KeycloakEcrRepositoryArn"
    OUT_KEYCLOAK_ECR_REPOSITORY_URI = "KeycloakEcrRepositoryUri"
    OUT_BACKUP_VAULT_NAME = "BackupVaultName"
    OUT_BACKUP_ROLE_ARN = "BackupRoleArn"  # the role restore jobs run as
    OUT_EXEC_KEY_ARN = "ExecSessionKeyArn"  # encrypts ECS Exec sessions and their log group
    OUT_LOGS_KEY_ARN = "LogsKeyArn"
    OUT_RESTORE_POSTGRES_ACCESS_POINT = "RestoreAsPostgresAccessPointId"
    OUT_RESTORE_POSTGRES_ACCESS_POINT_ARN = "RestoreAsPostgresAccessPointArn"
    OUT_RESTORE_MANAGER_ACCESS_POINT = "RestoreAsManagerStorageAccessPointId"
    OUT_RESTORE_MANAGER_ACCESS_POINT_ARN = "RestoreAsManagerStorageAccessPointArn"
    OUT_DUMPS_ACCESS_POINT = "DumpsAccessPointId"
    OUT_DUMPS_ACCESS_POINT_ARN = "DumpsAccessPointArn"


class Edge:
    """Names of the edge stack: the ingress every workload sits behind (ALB, NLB, certificate, DNS).

    Logical IDs here were the service stack's until the split; they kept their strings.
    """

    MQTT_TLS_PORT = 8883
    TEST_LISTENER_PORT = 8443
    MQTT_HOST_PREFIX = "mqtt"  # mqtt.<domain> aliases the NLB; <domain> aliases the ALB
    WEB_ACL_NAME = PROJECT
    WAF_LOG_GROUP_NAME = f"aws-waf-logs-{PROJECT}"  # WAF logs only to groups named aws-waf-logs-*

    # Parameters
    DOMAIN = "DomainName"
    HOSTED_ZONE_ID = "HostedZoneId"
    CERTIFICATE_ARN = "CertificateArn"
    ADMIN_CIDR = "AdminCidr"
    DELETION_PROTECTION = "LoadBalancerDeletionProtection"
    WAF_MODE = "WafMode"  # off | count | block
    WAF_LOG_RETENTION = "WafLogRetentionDays"
    ACCESS_LOG_BUCKET = "AccessLogBucket"  # a bucket of the user's; empty: the stack makes one when logs are on
    ACCESS_LOGS = "AccessLogs"
    ACCESS_LOG_RETENTION = "AccessLogRetentionDays"
    # Which target group each CodeDeploy listener forwards to (blue|green): filled by the rollout and
    # `deploy` from the live listener, so an update never moves traffic back (herd_cfn/operations/listeners.py).
    LIVE_TARGET_GROUP = "ManagerLiveTargetGroup"
    TEST_TARGET_GROUP = "ManagerTestTargetGroup"
    # Conditions
    HAS_HOSTED_ZONE = "HasHostedZone"
    HAS_ACCESS_LOGS = "HasAccessLogBucket"  # access logs on: to the given bucket or the stack's own
    HAS_WAF = "HasWaf"
    WAF_BLOCKS = "WafBlocks"
    CREATE_LOG_BUCKET = "CreateAccessLogBucket"
    LIVE_ON_GREEN = "LiveOnGreen"
    TEST_ON_GREEN = "TestOnGreen"
    # Mappings
    ELB_LOG_ACCOUNTS = "ElbLogDeliveryAccounts"
    # Resources
    ALB_SG = "LoadBalancerSecurityGroup"
    NLB_SG = "MqttLoadBalancerSecurityGroup"
    CERTIFICATE = "Certificate"
    ALB = "LoadBalancer"
    NLB = "MqttLoadBalancer"
    HTTP_LISTENER = "HttpListener"
    HTTPS_LISTENER = "HttpsListener"
    TEST_LISTENER = "TestListener"
    HTTPS_AUTH_RULE = "HttpsKeycloakRule"
    MQTT_LISTENER = "MqttListener"
    BLUE_TARGET_GROUP = "ManagerBlueTargetGroup"
    GREEN_TARGET_GROUP = "ManagerGreenTargetGroup"
    KEYCLOAK_TARGET_GROUP = "KeycloakTargetGroup"
    MQTT_TARGET_GROUP = "MqttTargetGroup"
    APP_DNS_RECORD = "ApplicationDnsRecord"
    MQTT_DNS_RECORD = "MqttDnsRecord"
    WEB_ACL = "WebAcl"
    WEB_ACL_ASSOCIATION = "WebAclAssociation"
    WAF_LOG_GROUP = "WafLogGroup"
    WAF_LOGGING = "WebAclLogging"
    LOG_BUCKET = "LoadBalancerLogBucket"
    LOG_BUCKET_POLICY = "LoadBalancerLogBucketPolicy"
    ALB_LOG_PREFIX = "alb"
    NLB_LOG_PREFIX = "nlb"

    # Outputs that are not exports
    OUT_DNS_INSTRUCTIONS = "DnsRecordsToCreate"
    OUT_MQTT_URL = "MqttUrl"
    OUT_ACCESS_LOG_BUCKET = "AccessLogBucketName"

    # Outputs / exports (export_name(EDGE, ...)); the service and pipeline stacks import them.
    OUT_BLUE_TARGET_GROUP_NAME = "ManagerBlueTargetGroupName"
    OUT_GREEN_TARGET_GROUP_NAME = "ManagerGreenTargetGroupName"
    OUT_BLUE_TARGET_GROUP_ARN = "ManagerBlueTargetGroupArn"  # the manager service's one target group
    OUT_KEYCLOAK_TARGET_GROUP_ARN = "KeycloakTargetGroupArn"
    OUT_MQTT_TARGET_GROUP_ARN = "MqttTargetGroupArn"
    # CloudWatch dimensions (app/<name>/<id>, targetgroup/<name>/<id>) of the service stack's alarms
    OUT_LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
    OUT_BLUE_TARGET_GROUP_FULL_NAME = "ManagerBlueTargetGroupFullName"
    OUT_GREEN_TARGET_GROUP_FULL_NAME = "ManagerGreenTargetGroupFullName"
    OUT_KEYCLOAK_TARGET_GROUP_FULL_NAME = "KeycloakTargetGroupFullName"  # dashboard dimension
    OUT_NLB_FULL_NAME = "MqttLoadBalancerFullName"  # dashboard dimension
    OUT_HTTPS_LISTENER_ARN = "HttpsListenerArn"  # CodeDeploy's production listener
    OUT_TEST_LISTENER_ARN = "TestListenerArn"
    OUT_TEST_LISTENER_PORT = "TestListenerPort"
    OUT_LOAD_BALANCER_ARN = "LoadBalancerArn"
    OUT_LOAD_BALANCER_DNS = "LoadBalancerDnsName"
    OUT_NLB_DNS = "MqttLoadBalancerDnsName"
    OUT_ALB_SECURITY_GROUP = "LoadBalancerSecurityGroupId"
    OUT_NLB_SECURITY_GROUP = "MqttLoadBalancerSecurityGroupId"
    OUT_APPLICATION_URL = "ApplicationUrl"


class Service:
    """Names of the service stack (ECS cluster, tasks and services, alarms, the restore and dump tasks)."""

    MANAGER_CONTAINER = "manager"  # the container CodeDeploy swaps (appspec LoadBalancerInfo)
    MANAGER_HTTP_PORT = 8080
    MANAGER_MQTT_PORT = 1883
    MANAGER_TASK_FAMILY = f"{PROJECT}-manager"  # buildspec reads the newest revision of this family
    KEYCLOAK_TASK_FAMILY = f"{PROJECT}-keycloak"  # the pipeline's ECS action registers revisions of it
    RESTORE_TASK_FAMILY = f"{PROJECT}-restore"  # herd-cfn restore runs the newest revision of this family
    RESTORE_CONTAINER = "restore"
    # pg_dump of the database (schedule, BeforeInstall hook) and pg_restore (herd-cfn restore --dump).
    DUMP_TASK_FAMILY = f"{PROJECT}-dump"
    DUMP_CONTAINER = "dump"

    CLUSTER_NAME = PROJECT
    MANAGER_SERVICE_NAME = "manager"
    KEYCLOAK_SERVICE_NAME = "keycloak"
    POSTGRES_SERVICE_NAME = "postgresql"
    KEYCLOAK_CONTAINER = "keycloak"
    POSTGRES_CONTAINER = "postgresql"
    KEYCLOAK_HTTP_PORT = 8080
    POSTGRES_PORT = 5432
    NAMESPACE = f"{PROJECT}.internal"  # Cloud Map private DNS: postgresql.herd.internal, keycloak.herd.internal

    @staticmethod
    def log_group(container: str) -> str:
        return f"/{PROJECT}/{container}"

    @staticmethod
    def alarm_name(what: str) -> str:
        return f"{PROJECT}-{what}"

    # Parameters
    DOMAIN = "DomainName"
    MANAGER_IMAGE = "ManagerImage"
    KEYCLOAK_IMAGE = "KeycloakImage"
    POSTGRES_IMAGE = "PostgresImage"
    MANAGER_CPU = "ManagerCpu"
    MANAGER_MEMORY = "ManagerMemory"
    KEYCLOAK_CPU = "KeycloakCpu"
    KEYCLOAK_MEMORY = "KeycloakMemory"
    POSTGRES_CPU = "PostgresCpu"
    POSTGRES_MEMORY = "PostgresMemory"
    KEYCLOAK_COUNT = "KeycloakDesiredCount"
    SETUP_TYPE = "ManagerSetupType"
    TIME_ZONE = "TimeZone"
    LOG_RETENTION = "LogRetentionDays"
    EMAIL_SECRET_ARN = "SmtpSettingsArn"  # an ARN of a Secrets Manager secret, not a secret value
    ALARM_EMAIL = "AlarmEmail"
    EXEC = "ExecuteCommand"  # "true"/"false": ECS Exec into the tasks (herd-cfn shell, herd-cfn psql)
    # The CIDRs of the manager's egress rules that differ between environments (service.manager_egress), in
    # template order; absent while every environment agrees.
    MANAGER_EGRESS_CIDRS = "ManagerEgressCidrs"
    DOCKER_HUB_MIRROR = DOCKER_HUB_MIRROR  # where Docker Hub's images come from (docker.io or ECR's cache)
    # Conditions
    HAS_EMAIL = "HasEmailSecret"
    USES_DOCKER_HUB_CACHE = USES_DOCKER_HUB_CACHE
    HAS_ALARM_EMAIL = "HasAlarmEmail"
    HAS_EXEC = "ExecuteCommandEnabled"
    # Plugin settings (service.<container>.environment/secrets): one parameter per name, made of a
    # prefix and the name without underscores (parameter names are alphanumeric), and a condition
    # "<parameter>Empty" that leaves an empty one out of the container. Short, for the template's size.
    PLUGIN_PREFIXES = {("manager", "environment"): "MEnv", ("manager", "secrets"): "MSec",
                       ("keycloak", "environment"): "KEnv", ("keycloak", "secrets"): "KSec"}
    PLUGIN_EMPTY_SUFFIX = "Empty"
    # The IAM resources of every plugin secret of an environment (comma-separated), for the execution role.
    PLUGIN_SECRET_ARNS = "PluginSecretArns"
    PLUGIN_PARAMETER_ARNS = "PluginParameterArns"
    HAS_PLUGIN_SECRETS = "HasPluginSecrets"
    HAS_PLUGIN_PARAMETERS = "HasPluginParameters"
    # Resources
    CLUSTER = "Cluster"
    NAMESPACE_RESOURCE = "ServiceDiscoveryNamespace"
    POSTGRES_DISCOVERY = "PostgresDiscoveryService"
    KEYCLOAK_DISCOVERY = "KeycloakDiscoveryService"
    MANAGER_SMTP_EGRESS = "ManagerSmtpEgress"
    # Keycloak sends the realms' e-mail (password resets) with the SMTP settings the manager writes into them.
    KEYCLOAK_SMTP_EGRESS = "KeycloakSmtpEgress"
    # Egress from one group to another (the matching ingress is inline on the destination group)
    ALB_TO_MANAGER_EGRESS = "LoadBalancerToManager8080Egress"
    ALB_TO_KEYCLOAK_EGRESS = "LoadBalancerToKeycloak8080Egress"
    NLB_TO_MANAGER_EGRESS = "MqttLoadBalancerToManager1883Egress"
    MANAGER_TO_KEYCLOAK_EGRESS = "ManagerToKeycloak8080Egress"
    MANAGER_TO_POSTGRES_EGRESS = "ManagerToPostgres5432Egress"
    KEYCLOAK_TO_POSTGRES_EGRESS = "KeycloakToPostgres5432Egress"
    MANAGER_SG = "ManagerSecurityGroup"
    KEYCLOAK_SG = "KeycloakSecurityGroup"
    POSTGRES_SG = "PostgresSecurityGroup"
    POSTGRES_LOG_GROUP = "PostgresLogGroup"
    KEYCLOAK_LOG_GROUP = "KeycloakLogGroup"
    MANAGER_LOG_GROUP = "ManagerLogGroup"
    EXECUTION_ROLE = "TaskExecutionRole"  # shared by the three task families
    POSTGRES_TASK_ROLE = "PostgresTaskRole"
    MANAGER_TASK_ROLE = "ManagerTaskRole"
    POSTGRES_TASK = "PostgresTaskDefinition"
    KEYCLOAK_TASK = "KeycloakTaskDefinition"
    MANAGER_TASK = "ManagerTaskDefinition"
    POSTGRES_SERVICE = "PostgresService"
    KEYCLOAK_SERVICE = "KeycloakService"
    MANAGER_SERVICE = "ManagerService"
    ALARM_KEY = "AlarmTopicKey"
    ALARM_TOPIC = "AlarmTopic"
    ALARM_SUBSCRIPTION = "AlarmEmailSubscription"
    ALARM_BLUE_UNHEALTHY = "ManagerBlueUnhealthyAlarm"
    ALARM_GREEN_UNHEALTHY = "ManagerGreenUnhealthyAlarm"
    ALARM_TARGET_5XX = "ManagerTarget5xxAlarm"
    ALARM_MANAGER_CPU = "ManagerCpuAlarm"
    ALARM_MANAGER_MEMORY = "ManagerMemoryAlarm"
    ALARM_POSTGRES_DOWN = "PostgresNotRunningAlarm"
    RESTORE_SG = "RestoreSecurityGroup"
    RESTORE_LOG_GROUP = "RestoreLogGroup"
    RESTORE_TASK_ROLE = "RestoreTaskRole"
    RESTORE_TASK = "RestoreTaskDefinition"
    KEYCLOAK_TASK_ROLE = "KeycloakTaskRole"  # ECS Exec needs a task role; Keycloak itself calls no AWS API
    EXEC_POLICY = "ExecSessionPolicy"
    DUMP_LOG_GROUP = "DumpLogGroup"
    DUMP_TASK = "DumpTaskDefinition"
    DUMP_TO_POSTGRES_EGRESS = "RestoreToPostgres5432Egress"  # the dump task runs in the restore group
    DUMP_SCHEDULE_ROLE = "DumpScheduleRole"
    DUMP_SCHEDULE_RULE = "DumpScheduleRule"
    DUMP_SUCCESS_FILTER = "DumpSucceededMetricFilter"
    ALARM_DUMP_MISSING = "DumpMissingAlarm"
    # Parameter
    DUMP_RETENTION = "DumpRetentionDays"

    # Outputs / exports (agreed with the pipeline stack; export_name(SERVICE, ...))
    OUT_CLUSTER_NAME = "ClusterName"
    OUT_MANAGER_SERVICE_NAME = "ManagerServiceName"
    OUT_MANAGER_TASK_FAMILY = "ManagerTaskFamily"
    OUT_ALARM_TOPIC_ARN = "AlarmTopicArn"
    OUT_ROLLBACK_ALARM_NAMES = "RollbackAlarmNames"  # comma-separated, for CodeDeploy's AlarmConfiguration
    OUT_MANAGER_TASK_ROLE_ARN = "ManagerTaskRoleArn"
    OUT_KEYCLOAK_TASK_ROLE_ARN = "KeycloakTaskRoleArn"  # the pipeline's ECS action passes it
    OUT_MANAGER_EXECUTION_ROLE_ARN = "ManagerExecutionRoleArn"
    OUT_MANAGER_SECURITY_GROUP = "ManagerSecurityGroupId"
    OUT_RESTORE_SECURITY_GROUP = "RestoreSecurityGroupId"  # herd-cfn restore runs its task in it
    OUT_EXEC = "ExecuteCommand"  # "true"/"false": herd-cfn shell refuses early when exec is off
    OUT_DUMP_TASK_ROLE_ARN = "DumpTaskRoleArn"  # the restore task role; the deploy hook passes it to a dump


class Traffic:
    """Names of the traffic stack: what decides and follows where the manager's traffic goes (the
    BeforeAllowTraffic probe of the replacement task set, the MQTT target reconcile). Its logical ids were
    the service's and the pipeline's until 2026-12, before any account ran them (tests/data/logical_ids.json)."""

    BEFORE_ALLOW_TRAFFIC_FUNCTION = f"{PROJECT}-manager-before-allow-traffic"  # the appspec names it
    RECONCILE_FUNCTION_NAME = f"{PROJECT}-mqtt-target-reconcile"
    HEALTH_PATH = "/api/master/info"  # OpenRemote answers it without login
    # Parameters
    LOG_RETENTION = "LogRetentionDays"
    DOMAIN = "DomainName"
    # Resources: the BeforeAllowTraffic probe
    HOOK_LOG_GROUP = "BeforeAllowTrafficLogGroup"
    HOOK_ROLE = "BeforeAllowTrafficRole"
    HOOK_SECURITY_GROUP = "BeforeAllowTrafficSecurityGroup"
    HOOK_TO_ALB_INGRESS = "LoadBalancerIngressFromBeforeAllowTraffic"
    HOOK_FUNCTION = "BeforeAllowTrafficFunction"
    # Resources: the MQTT target reconcile
    RECONCILE_ROLE = "MqttReconcileRole"
    RECONCILE_LOG_GROUP = "MqttReconcileLogGroup"
    RECONCILE_FUNCTION = "MqttReconcileFunction"
    RECONCILE_TASK_RULE = "MqttReconcileTaskStateRule"
    RECONCILE_SCHEDULE_RULE = "MqttReconcileScheduleRule"
    RECONCILE_TASK_PERMISSION = "MqttReconcileTaskStatePermission"
    RECONCILE_SCHEDULE_PERMISSION = "MqttReconcileSchedulePermission"
    # Outputs / exports
    OUT_RECONCILE_FUNCTION_ARN = "MqttReconcileFunctionArn"
    OUT_HOOK_SECURITY_GROUP = "HookSecurityGroupId"  # the pipeline's deploy hooks run in it too


class Pipeline:
    """Names of the pipeline stack (CodePipeline, CodeBuild, CodeDeploy)."""

    # Fixed physical names (one pipeline per account; the CLI and the appspec find them by name).
    PIPELINE_NAME = f"{PROJECT}-manager"
    BUILD_PROJECT_NAME = f"{PROJECT}-manager-image"
    DEPLOY_APPLICATION_NAME = f"{PROJECT}-manager"
    DEPLOYMENT_GROUP_NAME = f"{PROJECT}-manager"
    CONNECTION_NAME = f"{PROJECT}-github"  # at most 32 characters
    # Artifacts and actions inside the pipeline.
    SOURCE_ARTIFACT = "Source"
    BUILD_ARTIFACT = "Build"
    SOURCE_ACTION = "Source"
    SOURCE_NAMESPACE = "SourceVariables"
    IMAGE_PLACEHOLDER = "IMAGE1_NAME"  # taskdef.json's image, replaced with imageDetail.json's ImageURI
    # The Keycloak image: a second output artifact of the build (buildspec secondary-artifacts are named by
    # the pipeline's output artifacts), deployed by an ECS (rolling) action from this file.
    KEYCLOAK_ARTIFACT = "KeycloakImage"
    KEYCLOAK_ACTION = "Keycloak"
    IMAGE_DEFINITIONS_FILE = "imagedefinitions.json"
    # How many names the service stack's RollbackAlarmNames export holds (CodeDeploy's
    # AlarmConfiguration takes objects, so the comma-separated list is indexed, not mapped).
    ROLLBACK_ALARM_COUNT = 3  # the service stack: blue unhealthy, green unhealthy, target 5xx

    # Parameters
    REPOSITORY = "RepositoryId"
    BRANCH = "BranchName"
    CONNECTION_ARN = "ExistingConnectionArn"
    REQUIRE_APPROVAL = "RequireApproval"
    COMPUTE_TYPE = "BuildComputeType"
    BUILD_TIMEOUT = "BuildTimeoutMinutes"
    DOCKERFILE = "DockerfilePath"
    DOCKER_CONTEXT = "DockerBuildContext"
    DOCKER_HUB_SECRET_ARN = "DockerHubLoginArn"  # a Secrets Manager ARN, not a secret value
    DOCKER_HUB_MIRROR = DOCKER_HUB_MIRROR  # the Dockerfile's base images: docker.io or ECR's cache
    KEYCLOAK_BASE_IMAGE = "KeycloakBaseImage"  # OpenRemote's Keycloak image the themes are added to
    TERMINATION_WAIT = "TerminationWaitMinutes"
    LOG_RETENTION = "LogRetentionDays"
    NOTIFICATION_EMAIL = "NotificationEmail"
    DOMAIN = "DomainName"
    # Conditions
    CREATE_CONNECTION = "CreateConnection"
    APPROVAL = "ApprovalRequired"
    USE_DOCKER_HUB_SECRET = "UseDockerHubSecret"
    USES_DOCKER_HUB_CACHE = USES_DOCKER_HUB_CACHE
    HAS_NOTIFICATION_EMAIL = "HasNotificationEmail"
    # Resources
    ARTIFACT_BUCKET = "ArtifactBucket"
    ARTIFACT_BUCKET_POLICY = "ArtifactBucketPolicy"
    CONNECTION = "GitHubConnection"
    BUILD_LOG_GROUP = "BuildLogGroup"
    BUILD_ROLE = "BuildRole"
    BUILD_PROJECT = "BuildProject"
    DEPLOY_ROLE = "DeployRole"
    DEPLOY_APPLICATION = "DeployApplication"
    DEPLOYMENT_GROUP = "DeploymentGroup"
    PIPELINE_ROLE = "PipelineRole"
    PIPELINE = "Pipeline"
    NOTIFICATION_KEY = "NotificationKey"
    NOTIFICATION_KEY_ALIAS = "NotificationKeyAlias"
    NOTIFICATION_TOPIC = "NotificationTopic"
    NOTIFICATION_TOPIC_POLICY = "NotificationTopicPolicy"
    NOTIFICATION_SUBSCRIPTION = "NotificationEmailSubscription"
    NOTIFICATION_RULE = "PipelineNotificationRule"
    # BeforeInstall (dump, quiesce) and AfterAllowTraffic (MQTT targets, re-enable), and failed deployments.
    DEPLOY_HOOKS_FUNCTION_NAME = f"{PROJECT}-manager-deploy-hooks"
    DEPLOY_HOOKS_LOG_GROUP = "DeployHooksLogGroup"
    DEPLOY_HOOKS_ROLE = "DeployHooksRole"
    DEPLOY_HOOKS_FUNCTION = "DeployHooksFunction"
    DEPLOY_FAILED_RULE = "DeploymentFailedRule"
    DEPLOY_FAILED_PERMISSION = "DeploymentFailedPermission"
    # Outputs / exports
    OUT_CONNECTION_ARN = "GitHubConnectionArn"  # the CLI's `status` reads it
    OUT_CONNECTION_NOTE = "GitHubConnectionNote"
    OUT_PIPELINE_NAME = "PipelineName"
    OUT_ARTIFACT_BUCKET = "ArtifactBucketName"
    OUT_NOTIFICATION_TOPIC_ARN = "NotificationTopicArn"
    OUT_BUILD_PROJECT_NAME = "BuildProjectName"


class Dashboard:
    """Names of the dashboard stack: one CloudWatch dashboard per environment (account)."""

    DASHBOARD = "Dashboard"
    DASHBOARD_NAME = f"{PROJECT}-platform"
    OUT_DASHBOARD_NAME = "DashboardName"
