"""Least-privilege roles of the pipeline stack: CodePipeline, CodeBuild, CodeDeploy and the deploy hooks.

Every ``"*"`` resource below is one the action requires: those actions have no resource-level
permissions in IAM (Service Authorization Reference), and the comment next to each says so.
"""

from __future__ import annotations

from awacs.aws import (
    Allow,
    ArnEquals,
    Condition,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, If, Join, NoValue, Ref, Select, Split, Sub

from herd_cfn import names
from herd_cfn.templates import docker_hub
from herd_cfn.templates.helpers import imported, log_group_arns, logs_key_use
from herd_cfn.templates.lambdas.iam import code_statements

P = names.Pipeline
E = names.Edge
S = names.Service
T = names.Traffic

ANY_RESOURCE = "*"


def _allow(actions: list[str], resources, condition: Condition | None = None) -> Statement:
    extra = {"Condition": condition} if condition else {}
    if isinstance(resources, str):
        resources = [resources]
    return Statement(Effect=Allow, Action=[_action(a) for a in actions], Resource=resources, **extra)


def _action(name: str):
    from awacs.aws import Action

    prefix, verb = name.split(":", 1)
    return Action(prefix, verb)


def bucket_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:s3:::${%s}" % P.ARTIFACT_BUCKET)


def bucket_objects_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:s3:::${%s}/*" % P.ARTIFACT_BUCKET)


def _pass_task_roles(*task_roles: str) -> Statement:
    """PassRole to ECS tasks only: the execution role (shared by the families) and the given task roles."""
    return _allow(
        ["iam:PassRole"],
        [*(imported(names.SERVICE, role) for role in task_roles),
         imported(names.SERVICE, S.OUT_MANAGER_EXECUTION_ROLE_ARN)],
        Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com")),
    )


def _cluster_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}",
               Cluster=imported(names.SERVICE, S.OUT_CLUSTER_NAME))


def _service_arn(service: object = None) -> Sub:
    """The manager service's ARN, or the named service's in the same cluster."""
    return Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${Cluster}/${Service}",
               Cluster=imported(names.SERVICE, S.OUT_CLUSTER_NAME),
               Service=service or imported(names.SERVICE, S.OUT_MANAGER_SERVICE_NAME))


def _task_definition_arns(*families: object) -> list[Sub]:
    return [Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${Family}:*",
                Family=family) for family in families]


def _task_set_arns() -> Sub:
    return Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-set/${Cluster}/${Service}/*",
               Cluster=imported(names.SERVICE, S.OUT_CLUSTER_NAME),
               Service=imported(names.SERVICE, S.OUT_MANAGER_SERVICE_NAME))


def _listener_rule_arns(listener_export: str) -> Join:
    """``arn:...:listener/app/<lb>/<id>/<listener>`` → ``arn:...:listener-rule/app/<lb>/<id>/<listener>/*``."""
    parts = Split(":listener/", imported(names.EDGE, listener_export))
    return Join("", [Select(0, parts), ":listener-rule/", Select(1, parts), "/*"])


def rollback_alarm_names() -> list:
    """The service's rollback alarms, one entry each: CodeDeploy's AlarmConfiguration takes objects, so the
    exported comma-separated list is indexed (names.Pipeline.ROLLBACK_ALARM_COUNT entries), not mapped."""
    exported = Split(",", imported(names.SERVICE, S.OUT_ROLLBACK_ALARM_NAMES))
    return [Select(index, exported) for index in range(P.ROLLBACK_ALARM_COUNT)]


def _alarm_arns() -> list:
    return [Sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${Name}", Name=name)
            for name in rollback_alarm_names()]


def deployment_group_arn() -> Sub:
    return Sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
               f"{P.DEPLOY_APPLICATION_NAME}/{P.DEPLOYMENT_GROUP_NAME}")


def function_arn(name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}")


def build_statements() -> list:
    repository = imported(names.DATA, names.Data.OUT_ECR_REPOSITORY_ARN)
    return [
        _allow(["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arns(P.BUILD_LOG_GROUP)), logs_key_use(),
        _allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [bucket_objects_arn()]),
        _allow(["s3:GetBucketAcl", "s3:GetBucketLocation"], [bucket_arn()]),
        # ecr:GetAuthorizationToken has no resource-level permissions: the token is per registry.
        _allow(["ecr:GetAuthorizationToken"], ANY_RESOURCE),
        # Push (and the build cache's read and write) to the manager's and Keycloak's repositories.
        _allow([
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
            "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
        ], [repository, imported(names.DATA, names.Data.OUT_KEYCLOAK_ECR_REPOSITORY_ARN)]),
        # ecs:DescribeTaskDefinition lists no resource type in the Service Authorization Reference ("Actions,
        # resources, and condition keys for Amazon Elastic Container Service"), so it takes "*" (the buildspec
        # reads the family's newest revision; docs/openremote-and-aws-facts.md C.8).
        _allow(["ecs:DescribeTaskDefinition"], ANY_RESOURCE),
        If(P.USE_DOCKER_HUB_SECRET,
           _allow(["secretsmanager:GetSecretValue"], [Ref(P.DOCKER_HUB_SECRET_ARN)]),
           NoValue),
        # The Dockerfile's Docker Hub base images through ECR's cache, the first pull included (docker_hub.py).
        If(P.USES_DOCKER_HUB_CACHE,
           _allow([*docker_hub.PULL_ACTIONS, *docker_hub.FIRST_PULL_ACTIONS], [docker_hub.cached_repositories()]),
           NoValue),
    ]


def pipeline_statements(connection_arn) -> list:
    task_definitions = _task_definition_arns(imported(names.SERVICE, S.OUT_MANAGER_TASK_FAMILY), S.KEYCLOAK_TASK_FAMILY)
    application_arn = Sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:"
                          f"{P.DEPLOY_APPLICATION_NAME}")
    return [
        _allow(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [bucket_objects_arn()]),
        _allow(["s3:GetBucketVersioning", "s3:GetBucketLocation"], [bucket_arn()]),
        # Connections made before the CodeConnections rename still authorize under the old prefix.
        _allow(["codeconnections:UseConnection", "codestar-connections:UseConnection"], [connection_arn]),
        _allow(["codebuild:StartBuild", "codebuild:BatchGetBuilds"], [GetAtt(P.BUILD_PROJECT, "Arn")]),
        _allow(["codedeploy:CreateDeployment", "codedeploy:GetDeployment"], [deployment_group_arn()]),
        _allow(["codedeploy:GetApplication", "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision"], [application_arn]),
        _allow(["codedeploy:GetDeploymentConfig"], [Sub(
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentconfig:"
            "CodeDeployDefault.ECSAllAtOnce")]),
        # The deploy actions register taskdef.json as a new revision of the manager's family, and a copy of
        # Keycloak's service revision with the new image (ECS action) as one of Keycloak's. The Service
        # Authorization Reference ("Actions, resources, and condition keys for Amazon Elastic Container Service")
        # gives RegisterTaskDefinition the required resource type task-definition, whose ARN is
        # task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}: the families' revisions,
        # not "*" (docs/openremote-and-aws-facts.md C.8).
        _allow(["ecs:RegisterTaskDefinition"], task_definitions),
        # Tags in taskdef.json are applied by RegisterTaskDefinition itself: allow tagging only there (ECS
        # Developer Guide, "Grant permission to tag resources on creation": the ecs:CreateAction key).
        _allow(["ecs:TagResource"], task_definitions,
               Condition(StringEquals("ecs:CreateAction", "RegisterTaskDefinition"))),
        *keycloak_deploy_statements(),
        _pass_task_roles(S.OUT_MANAGER_TASK_ROLE_ARN, S.OUT_KEYCLOAK_TASK_ROLE_ARN),
    ]


def keycloak_deploy_statements() -> list:
    """The ECS (standard) deploy action of Keycloak: it reads the service's revision, registers a copy with the
    image of imagedefinitions.json, updates the service and watches the deployment. The actions are the ones
    AWS's CodePipeline service role policy lists for it (as AWS CDK's EcsDeployAction grants them), narrowed
    to the Keycloak service and its cluster."""
    cluster = Condition(ArnEquals("ecs:cluster", _cluster_arn()))
    return [
        _allow(["ecs:DescribeServices", "ecs:UpdateService"], [_service_arn(S.KEYCLOAK_SERVICE_NAME)]),
        # ecs:DescribeTaskDefinition has no resource-level permissions.
        _allow(["ecs:DescribeTaskDefinition"], ANY_RESOURCE),
        _allow(["ecs:DescribeTasks"], [Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${C}/*",
                                           C=imported(names.SERVICE, S.OUT_CLUSTER_NAME))]),
        # ecs:ListTasks names container instances, which Fargate has none of; the ecs:cluster key pins it.
        _allow(["ecs:ListTasks"], ANY_RESOURCE, cluster),
    ]


def deploy_statements() -> list:
    """What CodeDeploy needs for ECS blue/green (AWSCodeDeployRoleForECS), narrowed to this service.

    Not the managed policy: it may invoke only functions named CodeDeployHook_*, and it grants far more.
    """
    listeners = [imported(names.EDGE, E.OUT_HTTPS_LISTENER_ARN), imported(names.EDGE, E.OUT_TEST_LISTENER_ARN)]
    return [
        _allow(["ecs:DescribeServices", "ecs:UpdateServicePrimaryTaskSet"], [_service_arn()]),
        # ecs:CreateTaskSet has no resource-level permissions; the ecs:cluster key pins it to our cluster.
        _allow(["ecs:CreateTaskSet"], ANY_RESOURCE, Condition(ArnEquals("ecs:cluster", _cluster_arn()))),
        _allow(["ecs:DeleteTaskSet"], [_task_set_arns()]),
        # The Describe* calls of Elastic Load Balancing have no resource-level permissions.
        _allow(["elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules"], ANY_RESOURCE),
        _allow(["elasticloadbalancing:ModifyListener"], listeners),
        _allow(["elasticloadbalancing:ModifyRule"],
               [_listener_rule_arns(E.OUT_HTTPS_LISTENER_ARN), _listener_rule_arns(E.OUT_TEST_LISTENER_ARN)]),
        _allow(["cloudwatch:DescribeAlarms"], _alarm_arns()),
        # The MQTT reconcile function runs inside the deploy hooks' AfterAllowTraffic (appspec: one per event).
        _allow(["lambda:InvokeFunction"], [function_arn(T.BEFORE_ALLOW_TRAFFIC_FUNCTION),
                                          GetAtt(P.DEPLOY_HOOKS_FUNCTION, "Arn")]),
        _allow(["s3:GetObject", "s3:GetObjectVersion"], [bucket_objects_arn()]),
        _pass_task_roles(S.OUT_MANAGER_TASK_ROLE_ARN),
    ]


def deploy_hooks_statements() -> list:
    """herd_cfn.templates.lambdas.DEPLOY_HOOKS_IAM and the function's log stream."""
    from herd_cfn.templates.lambdas import DEPLOY_HOOKS_IAM

    return [_allow(["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arns(P.DEPLOY_HOOKS_LOG_GROUP)),
            logs_key_use(),
            *code_statements(
                DEPLOY_HOOKS_IAM, ClusterName=S.CLUSTER_NAME, ServiceName=S.MANAGER_SERVICE_NAME,
                DumpFamily=S.DUMP_TASK_FAMILY, Self=P.DEPLOY_HOOKS_FUNCTION_NAME, RecordBucket=Ref(P.ARTIFACT_BUCKET),
                ExecutionRoleArn=imported(names.SERVICE, S.OUT_MANAGER_EXECUTION_ROLE_ARN),
                DumpRoleArn=imported(names.SERVICE, S.OUT_DUMP_TASK_ROLE_ARN),
                AdminSecretArn=imported(names.DATA, names.Data.OUT_ADMIN_SECRET_ARN),
                ReconcileFunctionArn=imported(names.TRAFFIC, T.OUT_RECONCILE_FUNCTION_ARN))]
