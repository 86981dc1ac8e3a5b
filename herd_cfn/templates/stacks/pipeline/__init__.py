"""The pipeline stack: a push to the account's branch builds the custom OpenRemote image and deploys
it to the manager service with CodeDeploy blue/green, with no step by hand.

GitHub (CodeConnections) → CodeBuild (this repository's buildspec.yml: BuildKit with a registry cache in
ECR, push of the manager image and of the Keycloak image with the project's themes; imageDetail.json +
taskdef.json + appspec.yaml, and imagedefinitions.json) → optional manual approval → side by side:
CodeDeployToECS (blue/green through the ALB's test listener, BeforeAllowTraffic health hook, rollback on
failure and on the service's alarms) and the ECS (rolling) action for Keycloak (the service's circuit
breaker rolls back). Notifications of finished executions go to an encrypted SNS topic.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from awacs.aws import Allow, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import (
    AccountId,
    Equals,
    GetAtt,
    If,
    NoValue,
    Ref,
    Sub,
    Template,
    codebuild,
    codeconnections,
    codedeploy,
    codepipeline,
    codestarnotifications,
    kms,
    logs,
    s3,
    sns,
)

from herd_cfn import fields, names
from herd_cfn.fields import LOG_RETENTION_DAYS
from herd_cfn.templates import docker_hub
from herd_cfn.templates.base import Input, StackDefinition, optional_input
from herd_cfn.templates.helpers import RETAIN, given, logs_key, output, service_role, skip
from herd_cfn.templates.stacks.pipeline import deploy_hooks
from herd_cfn.templates.stacks.pipeline.config import (
    COMPUTE_TYPES,
    CONNECTION_ARN_PATTERN,
    RELATIVE_PATH_PATTERN,
    REPOSITORY_PATTERN,
    PipelineConfig,
    validate_project,
)
from herd_cfn.templates.stacks.pipeline.iam import (
    ANY_RESOURCE,
    bucket_arn,
    bucket_objects_arn,
    build_statements,
    deploy_statements,
    imported,
    pipeline_statements,
    rollback_alarm_names,
)

P = names.Pipeline
E = names.Edge
S = names.Service
REPOSITORY_ROOT = Path(__file__).resolve().parents[4]
BUILDSPEC_FILE = REPOSITORY_ROOT / "buildspec.yml"
APPSPEC_FILE = REPOSITORY_ROOT / "appspec.yaml"
# Ubuntu 24.04 standard image: Docker, python3 and the AWS CLI, cached on CodeBuild hosts.
BUILD_IMAGE = "aws/codebuild/standard:8.0"
ARTIFACT_EXPIRY_DAYS = 30  # a re-run needs the artifacts of recent executions only
NONCURRENT_EXPIRY_DAYS = 7


def _without_comment_lines(text: str) -> str:
    """YAML without whole-line comments: the template's size is the budget and the comments are for readers
    of this repository."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))


def buildspec_text() -> str:
    """buildspec.yml without its comment lines, embedded in the CodeBuild project so the application repo
    needs no CI file. Comment lines inside its scripts go too: in bash and in the Python of its heredoc a
    whole-line comment is only a comment, and the template's size is the budget. The tests run this text."""
    return _without_comment_lines(BUILDSPEC_FILE.read_text(encoding="utf-8"))


def appspec_text() -> str:
    """appspec.yaml without comments, handed to the build as APPSPEC_YAML (the application repo does not have
    it)."""
    return _without_comment_lines(APPSPEC_FILE.read_text(encoding="utf-8"))


INPUTS = (
    Input(P.REPOSITORY, "Application repository on GitHub (owner/name)", lambda env: env.pipeline.repository,
          allowed_pattern=REPOSITORY_PATTERN, constraint="owner/name of a GitHub repository"),
    Input(P.BRANCH, "A push to this branch deploys to this account", lambda env: env.pipeline.branch,
          allowed_pattern=r"^[^\s~^:?*\[\\]+$", constraint="a git branch name"),
    optional_input(P.CONNECTION_ARN, "Existing CodeConnections connection ARN; empty: the stack creates one",
                   lambda env: env.pipeline.connection_arn, CONNECTION_ARN_PATTERN,
                   constraint="empty or a CodeConnections connection ARN"),
    Input(P.REQUIRE_APPROVAL, "Wait for a manual approval before deploying", lambda env: env.pipeline.require_approval,
          allowed_values=("true", "false"), default="false"),
    Input(P.COMPUTE_TYPE, "CodeBuild compute size", lambda env: env.pipeline.build_compute_type,
          allowed_values=COMPUTE_TYPES),
    Input(P.BUILD_TIMEOUT, "Minutes before a build is stopped", lambda env: env.pipeline.build_timeout_minutes,
          type="Number", min_value=10, max_value=480),
    Input(P.DOCKERFILE, "Dockerfile path in the application repository", lambda env: env.pipeline.dockerfile,
          allowed_pattern=RELATIVE_PATH_PATTERN, constraint="a relative path without '..'"),
    Input(P.DOCKER_CONTEXT, "Docker build context in the application repository",
          lambda env: env.pipeline.docker_build_context,
          allowed_pattern=RELATIVE_PATH_PATTERN, constraint="a relative path without '..'"),
    # Through ECR's pull-through cache when the environment has one, as the service stack's image.
    Input(P.KEYCLOAK_BASE_IMAGE, "OpenRemote's Keycloak image the build adds the project's themes to",
          lambda env: docker_hub.image(env, env.service.keycloak_image)),
    optional_input(P.DOCKER_HUB_SECRET_ARN,
                   "Secret with Docker Hub username/password keys; empty: pull anonymously",
                   lambda env: env.pipeline.docker_hub_secret_arn, fields.SECRET_ARN_PATTERN,
                   constraint="empty or a Secrets Manager secret ARN"),
    Input(P.TERMINATION_WAIT, "Minutes the old manager task runs on after traffic moved",
          lambda env: env.pipeline.termination_wait_minutes, type="Number", min_value=0, max_value=60),
    Input(P.LOG_RETENTION, "Days to keep build and hook logs", lambda env: env.pipeline.log_retention_days,
          type="Number", allowed_values=tuple(str(d) for d in LOG_RETENTION_DAYS)),
    optional_input(P.NOTIFICATION_EMAIL, "E-mail address for pipeline notifications; empty: none",
                   lambda env: env.pipeline.notification_email, fields.EMAIL_PATTERN,
                   constraint="empty or an e-mail address"),
    Input(P.DOMAIN, "Public DNS name of the platform (Host and TLS name of the health check)",
          lambda env: env.domain, allowed_pattern=r"^[a-z0-9.-]+$", constraint="a lower-case DNS name"),
    docker_hub.mirror_input(),
)


def connection_arn() -> If:
    return If(P.CREATE_CONNECTION, GetAtt(P.CONNECTION, "ConnectionArn"), Ref(P.CONNECTION_ARN))


def build(t: Template) -> None:
    t.add_condition(P.CREATE_CONNECTION, Equals(Ref(P.CONNECTION_ARN), ""))
    t.add_condition(P.APPROVAL, Equals(Ref(P.REQUIRE_APPROVAL), "true"))
    t.add_condition(P.USE_DOCKER_HUB_SECRET, given(P.DOCKER_HUB_SECRET_ARN))
    t.add_condition(P.HAS_NOTIFICATION_EMAIL, given(P.NOTIFICATION_EMAIL))
    docker_hub.add_condition(t)

    _artifact_bucket(t)
    t.add_resource(codeconnections.Connection(
        P.CONNECTION, Condition=P.CREATE_CONNECTION, ConnectionName=P.CONNECTION_NAME, ProviderType="GitHub",
    ))
    _build_project(t)
    deploy_hooks.build(t)
    _deployment(t)
    _pipeline(t)
    _notifications(t)
    _outputs(t)


def _artifact_bucket(t: Template) -> None:
    t.add_resource(s3.Bucket(
        P.ARTIFACT_BUCKET, DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        Metadata=skip(("CKV_AWS_18", "Holds only pipeline artifacts that expire after 30 days; CloudTrail records "
                                      "who touched them, and an access-log bucket would need its own lifecycle.")),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            # aws:kms without a key id is the account's aws/s3 key, usable by the pipeline's roles as is.
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms"),
            BucketKeyEnabled=True,
        )]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-old-artifacts", Status="Enabled", ExpirationInDays=ARTIFACT_EXPIRY_DAYS,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=NONCURRENT_EXPIRY_DAYS),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
        )]),
    ))
    t.add_resource(s3.BucketPolicy(
        P.ARTIFACT_BUCKET_POLICY, Bucket=Ref(P.ARTIFACT_BUCKET),
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
            Action=[_s3_all()], Resource=[bucket_arn(), bucket_objects_arn()],
            Condition=Condition(StringEquals("aws:SecureTransport", "false")),
        )]),
    ))


def _s3_all():
    from awacs.aws import Action

    # A Deny for every S3 action: narrowing a deny only leaves gaps.
    return Action("s3", "*")


def _build_project(t: Template) -> None:
    t.add_resource(logs.LogGroup(
        P.BUILD_LOG_GROUP, **RETAIN, LogGroupName=f"/aws/codebuild/{P.BUILD_PROJECT_NAME}",
        RetentionInDays=Ref(P.LOG_RETENTION),
        KmsKeyId=logs_key(),
    ))
    t.add_resource(service_role(P.BUILD_ROLE, "codebuild.amazonaws.com", build_statements(),
                                "CodeBuild: build and push the manager and Keycloak images, write the deploy "
                                "artifacts"))

    def plain(name: str, value) -> codebuild.EnvironmentVariable:
        return codebuild.EnvironmentVariable(Name=name, Type="PLAINTEXT", Value=value)

    def docker_hub(name: str, key: str) -> codebuild.EnvironmentVariable:
        return codebuild.EnvironmentVariable(
            Name=name, Type="SECRETS_MANAGER", Value=Sub("${%s}:%s" % (P.DOCKER_HUB_SECRET_ARN, key)))

    variables = [
        plain("REPOSITORY_URI", imported(names.DATA, names.Data.OUT_ECR_REPOSITORY_URI)),
        plain("TASK_FAMILY", imported(names.SERVICE, S.OUT_MANAGER_TASK_FAMILY)),
        plain("CONTAINER_NAME", S.MANAGER_CONTAINER),
        plain("KEYCLOAK_REPOSITORY_URI", imported(names.DATA, names.Data.OUT_KEYCLOAK_ECR_REPOSITORY_URI)),
        plain("KEYCLOAK_BASE_IMAGE", Ref(P.KEYCLOAK_BASE_IMAGE)),
        plain("KEYCLOAK_CONTAINER_NAME", S.KEYCLOAK_CONTAINER),
        plain("AWS_ACCOUNT_ID", AccountId),
        plain("DOCKERFILE", Ref(P.DOCKERFILE)),
        plain("DOCKER_BUILD_CONTEXT", Ref(P.DOCKER_CONTEXT)),
        plain("APPSPEC_YAML", appspec_text()),
        plain("DOCKER_HUB_MIRROR", Ref(P.DOCKER_HUB_MIRROR)),  # docker/Dockerfile's FROM of openremote/manager
    ]
    # One Fn::If per optional entry (AWS::NoValue drops it), not two copies of the whole list: the template's
    # size is the budget. troposphere's validator takes an entry only as a dict, hence to_dict().
    variables += [{"Fn::If": [P.USE_DOCKER_HUB_SECRET, docker_hub(name, key).to_dict(), {"Ref": "AWS::NoValue"}]}
                  for name, key in (("DOCKERHUB_USERNAME", "username"), ("DOCKERHUB_PASSWORD", "password"))]

    t.add_resource(codebuild.Project(
        P.BUILD_PROJECT, Name=P.BUILD_PROJECT_NAME,
        Description="Builds the custom OpenRemote manager and Keycloak images (herd-cfn buildspec.yml)",
        Metadata=skip(
            ("CKV_AWS_316", "Docker (a BuildKit container) needs privileged mode; the project runs only herd-cfn's "
                            "buildspec."),
            ("CKV_AWS_147", "Artifacts are encrypted with the account's aws/s3 key; a customer managed key adds "
                            "a key policy to keep in step with three roles and buys nothing here."),
        ),
        ServiceRole=GetAtt(P.BUILD_ROLE, "Arn"),
        Source=codebuild.Source(Type="CODEPIPELINE", BuildSpec=buildspec_text()),
        Artifacts=codebuild.Artifacts(Type="CODEPIPELINE"),
        Environment=codebuild.Environment(
            Type="LINUX_CONTAINER", ComputeType=Ref(P.COMPUTE_TYPE), Image=BUILD_IMAGE,
            ImagePullCredentialsType="CODEBUILD", PrivilegedMode=True,
            EnvironmentVariables=variables,
        ),
        Cache=codebuild.ProjectCache(Type="LOCAL", Modes=["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"]),
        LogsConfig=codebuild.LogsConfig(CloudWatchLogs=codebuild.CloudWatchLogs(
            Status="ENABLED", GroupName=Ref(P.BUILD_LOG_GROUP))),
        TimeoutInMinutes=Ref(P.BUILD_TIMEOUT), QueuedTimeoutInMinutes=60,
    ))


def _deployment(t: Template) -> None:
    t.add_resource(service_role(P.DEPLOY_ROLE, "codedeploy.amazonaws.com", deploy_statements(),
                                "CodeDeploy: blue/green deployments of the manager service"))
    t.add_resource(codedeploy.Application(
        P.DEPLOY_APPLICATION, ApplicationName=P.DEPLOY_APPLICATION_NAME, ComputePlatform="ECS"))
    t.add_resource(codedeploy.DeploymentGroup(
        P.DEPLOYMENT_GROUP, ApplicationName=Ref(P.DEPLOY_APPLICATION), DeploymentGroupName=P.DEPLOYMENT_GROUP_NAME,
        ServiceRoleArn=GetAtt(P.DEPLOY_ROLE, "Arn"),
        # All at once: the manager is a singleton, so a gradual shift would only lengthen the overlap.
        DeploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        DeploymentStyle=codedeploy.DeploymentStyle(
            DeploymentType="BLUE_GREEN", DeploymentOption="WITH_TRAFFIC_CONTROL"),
        BlueGreenDeploymentConfiguration=codedeploy.BlueGreenDeploymentConfiguration(
            DeploymentReadyOption=codedeploy.DeploymentReadyOption(ActionOnTimeout="CONTINUE_DEPLOYMENT"),
            TerminateBlueInstancesOnDeploymentSuccess=codedeploy.BlueInstanceTerminationOption(
                Action="TERMINATE", TerminationWaitTimeInMinutes=Ref(P.TERMINATION_WAIT)),
        ),
        ECSServices=[codedeploy.ECSService(
            ClusterName=imported(names.SERVICE, S.OUT_CLUSTER_NAME),
            ServiceName=imported(names.SERVICE, S.OUT_MANAGER_SERVICE_NAME),
        )],
        LoadBalancerInfo=codedeploy.LoadBalancerInfo(TargetGroupPairInfoList=[codedeploy.TargetGroupPairInfo(
            TargetGroups=[
                codedeploy.TargetGroupInfo(Name=imported(names.EDGE, E.OUT_BLUE_TARGET_GROUP_NAME)),
                codedeploy.TargetGroupInfo(Name=imported(names.EDGE, E.OUT_GREEN_TARGET_GROUP_NAME)),
            ],
            ProdTrafficRoute=codedeploy.TrafficRoute(ListenerArns=[imported(names.EDGE, E.OUT_HTTPS_LISTENER_ARN)]),
            TestTrafficRoute=codedeploy.TrafficRoute(ListenerArns=[imported(names.EDGE, E.OUT_TEST_LISTENER_ARN)]),
        )]),
        AutoRollbackConfiguration=codedeploy.AutoRollbackConfiguration(
            Enabled=True, Events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
        AlarmConfiguration=codedeploy.AlarmConfiguration(Enabled=True, IgnorePollAlarmFailure=False, Alarms=[
            codedeploy.Alarm(Name=name) for name in rollback_alarm_names()]),
    ))


def _pipeline(t: Template) -> None:
    t.add_resource(service_role(P.PIPELINE_ROLE, "codepipeline.amazonaws.com", pipeline_statements(connection_arn()),
                                "CodePipeline: source, build and deploy of the manager and Keycloak images"))
    source = codepipeline.Stages(Name="Source", Actions=[codepipeline.Actions(
        Name=P.SOURCE_ACTION, Namespace=P.SOURCE_NAMESPACE,
        ActionTypeId=codepipeline.ActionTypeId(
            Category="Source", Owner="AWS", Provider="CodeStarSourceConnection", Version="1"),
        Configuration={
            "ConnectionArn": connection_arn(),
            "FullRepositoryId": Ref(P.REPOSITORY),
            "BranchName": Ref(P.BRANCH),
            "OutputArtifactFormat": "CODE_ZIP",
        },
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=P.SOURCE_ARTIFACT)],
    )])
    build = codepipeline.Stages(Name="Build", Actions=[codepipeline.Actions(
        Name="Image",
        ActionTypeId=codepipeline.ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
        Configuration={
            "ProjectName": Ref(P.BUILD_PROJECT),
            # The commit id from the source action: the image tag, whatever CodeBuild resolves.
            "EnvironmentVariables": json.dumps([{
                "name": "COMMIT_ID", "type": "PLAINTEXT", "value": f"#{{{P.SOURCE_NAMESPACE}.CommitId}}"}]),
        },
        InputArtifacts=[codepipeline.InputArtifacts(Name=P.SOURCE_ARTIFACT)],
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=P.BUILD_ARTIFACT),
                         codepipeline.OutputArtifacts(Name=P.KEYCLOAK_ARTIFACT)],
    )])
    approval = If(P.APPROVAL, codepipeline.Stages(Name="Approve", Actions=[codepipeline.Actions(
        Name="Approve",
        ActionTypeId=codepipeline.ActionTypeId(Category="Approval", Owner="AWS", Provider="Manual", Version="1"),
        Configuration={"CustomData": f"Deploy commit #{{{P.SOURCE_NAMESPACE}.CommitId}} to the manager and Keycloak?"},
    )]), NoValue)
    deploy = codepipeline.Stages(Name="Deploy", Actions=[codepipeline.Actions(
        Name="BlueGreen",
        ActionTypeId=codepipeline.ActionTypeId(Category="Deploy", Owner="AWS", Provider="CodeDeployToECS", Version="1"),
        Configuration={
            "ApplicationName": Ref(P.DEPLOY_APPLICATION),
            "DeploymentGroupName": Ref(P.DEPLOYMENT_GROUP),
            "TaskDefinitionTemplateArtifact": P.BUILD_ARTIFACT,
            "TaskDefinitionTemplatePath": "taskdef.json",
            "AppSpecTemplateArtifact": P.BUILD_ARTIFACT,
            "AppSpecTemplatePath": "appspec.yaml",
            "Image1ArtifactName": P.BUILD_ARTIFACT,
            "Image1ContainerName": P.IMAGE_PLACEHOLDER,
        },
        InputArtifacts=[codepipeline.InputArtifacts(Name=P.BUILD_ARTIFACT)],
    ), codepipeline.Actions(
        # Side by side with the manager's (same run order): a rolling deployment keeps the old Keycloak
        # serving until the new one is healthy; the service's circuit breaker rolls a failed one back.
        Name=P.KEYCLOAK_ACTION,
        ActionTypeId=codepipeline.ActionTypeId(Category="Deploy", Owner="AWS", Provider="ECS", Version="1"),
        Configuration={
            "ClusterName": imported(names.SERVICE, S.OUT_CLUSTER_NAME),
            "ServiceName": S.KEYCLOAK_SERVICE_NAME,
            "FileName": P.IMAGE_DEFINITIONS_FILE,
        },
        InputArtifacts=[codepipeline.InputArtifacts(Name=P.KEYCLOAK_ARTIFACT)],
    )])
    t.add_resource(codepipeline.Pipeline(
        # A new pipeline starts its first execution at once; the appspec's hook functions must exist by its
        # Deploy stage (CodeDeploy finds them by name; the traffic stack, rolled out before, has the others).
        P.PIPELINE, DependsOn=[P.DEPLOY_HOOKS_FUNCTION], Name=P.PIPELINE_NAME, PipelineType="V2",
        # A newer push replaces one still waiting: fewer restarts of the singleton manager.
        ExecutionMode="SUPERSEDED", RestartExecutionOnUpdate=False,
        RoleArn=GetAtt(P.PIPELINE_ROLE, "Arn"),
        ArtifactStore=codepipeline.ArtifactStore(Type="S3", Location=Ref(P.ARTIFACT_BUCKET)),
        Stages=[source, build, approval, deploy],
        Triggers=[codepipeline.PipelineTriggerDeclaration(
            ProviderType="CodeStarSourceConnection",
            GitConfiguration=codepipeline.GitConfiguration(
                SourceActionName=P.SOURCE_ACTION,
                Push=[codepipeline.GitPushFilter(
                    Branches=codepipeline.GitBranchFilterCriteria(Includes=[Ref(P.BRANCH)]))],
            ),
        )],
    ))


def _notifications(t: Template) -> None:
    root = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
    from awacs.aws import Action

    # CodeStar Notifications cannot publish to a topic under the AWS managed aws/sns key: a CMK it may use.
    t.add_resource(kms.Key(
        P.NOTIFICATION_KEY, Description="Encrypts the herd pipeline notification topic",
        EnableKeyRotation=True, DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        KeyPolicy=PolicyDocument(Version="2012-10-17", Statement=[
            # The account administers the key through IAM, as with AWS's default key policy.
            Statement(Sid="AccountAdministers", Effect=Allow, Principal=Principal("AWS", root),
                      Action=[Action("kms", "*")], Resource=[ANY_RESOURCE]),  # "*" = this key, in a key policy
            Statement(Sid="NotificationsEncrypt", Effect=Allow,
                      Principal=Principal("Service", "codestar-notifications.amazonaws.com"),
                      Action=[Action("kms", "GenerateDataKey*"), Action("kms", "Decrypt")],
                      Resource=[ANY_RESOURCE],  # "*" = this key, in a key policy
                      Condition=Condition(StringEquals("kms:ViaService", Sub("sns.${AWS::Region}.amazonaws.com")))),
        ]),
    ))
    t.add_resource(kms.Alias(P.NOTIFICATION_KEY_ALIAS, AliasName=f"alias/{P.PIPELINE_NAME}-notifications",
                             TargetKeyId=Ref(P.NOTIFICATION_KEY)))
    t.add_resource(sns.Topic(
        P.NOTIFICATION_TOPIC, TopicName=f"{P.PIPELINE_NAME}-pipeline", KmsMasterKeyId=Ref(P.NOTIFICATION_KEY)))
    t.add_resource(sns.TopicPolicy(
        P.NOTIFICATION_TOPIC_POLICY, Topics=[Ref(P.NOTIFICATION_TOPIC)],
        PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[Statement(
            Sid="NotificationsPublish", Effect=Allow,
            Principal=Principal("Service", "codestar-notifications.amazonaws.com"),
            Action=[Action("sns", "Publish")], Resource=[Ref(P.NOTIFICATION_TOPIC)],
            Condition=Condition(StringEquals("aws:SourceAccount", AccountId)),
        )]),
    ))
    t.add_resource(sns.SubscriptionResource(
        P.NOTIFICATION_SUBSCRIPTION, Condition=P.HAS_NOTIFICATION_EMAIL, Protocol="email",
        Endpoint=Ref(P.NOTIFICATION_EMAIL), TopicArn=Ref(P.NOTIFICATION_TOPIC),
    ))
    t.add_resource(codestarnotifications.NotificationRule(
        P.NOTIFICATION_RULE, DependsOn=[P.NOTIFICATION_TOPIC_POLICY],
        Name=f"{P.PIPELINE_NAME}-executions", DetailType="FULL",
        EventTypeIds=[
            "codepipeline-pipeline-pipeline-execution-failed",
            "codepipeline-pipeline-pipeline-execution-succeeded",
            "codepipeline-pipeline-manual-approval-needed",
        ],
        Resource=Sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${%s}" % P.PIPELINE),
        Targets=[codestarnotifications.Target(TargetType="SNS", TargetAddress=Ref(P.NOTIFICATION_TOPIC))],
    ))


def _outputs(t: Template) -> None:
    out = partial(output, t, names.PIPELINE)
    out(P.OUT_CONNECTION_ARN, connection_arn(), "CodeConnections connection to GitHub (herd-cfn status reads it)")
    out(P.OUT_CONNECTION_NOTE, If(
        P.CREATE_CONNECTION,
        "Created by this stack as PENDING: activate it once in the console (Developer Tools > Settings > "
        "Connections > Update pending connection), then push or release the pipeline",
        "Existing connection given as a parameter: it must be AVAILABLE and reach the repository",
    ), "What the GitHub connection needs", export=False)
    out(P.OUT_PIPELINE_NAME, Ref(P.PIPELINE), "Pipeline that deploys the manager")
    out(P.OUT_BUILD_PROJECT_NAME, Ref(P.BUILD_PROJECT), "CodeBuild project that builds the manager image")
    out(P.OUT_ARTIFACT_BUCKET, Ref(P.ARTIFACT_BUCKET), "Bucket of pipeline artifacts")
    out(P.OUT_NOTIFICATION_TOPIC_ARN, Ref(P.NOTIFICATION_TOPIC), "SNS topic of pipeline notifications")


STACK = StackDefinition(
    name=names.PIPELINE,
    description="GitHub → CodeBuild → ECR → CodeDeploy blue/green (manager) and ECS rolling (Keycloak) pipeline",
    build=build,
    inputs=INPUTS,
    depends_on=(names.NETWORK, names.DATA, names.EDGE, names.SERVICE, names.TRAFFIC),
    config_key="pipeline",
    config_model=PipelineConfig,
    validate_project=validate_project,
)
