"""Checks of what a deployment needs besides the roles: the GitHub connection, DNS (hosted zone or
certificate), the manager's image in ECR and the Docker Hub login of ECR's pull-through cache.

Settings are found by field name in whichever section of the environment file holds them (the registry
decides which stack owns what), so moving a field to another stack's section needs no change here.
"""

from __future__ import annotations

from typing import Any

from herd_cfn import names
from herd_cfn.config.environments import Environment
from herd_cfn.operations.aws import AwsContext, translate_errors, unless_missing
from herd_cfn.operations.doctor.findings import Finding, missing, ok, warn
from herd_cfn.operations.status import CONNECTION_CONSOLE, InstanceStatus, connection_arn, connection_state
from herd_cfn.templates import docker_hub, registry


def setting(env: Environment, field: str) -> tuple[str, Any] | None:
    """``(section.field, value)`` of the first registered stack's config section that has ``field``."""
    for stack in registry.all_stacks():
        if stack.config_key and stack.config_model and field in stack.config_model.model_fields:
            return f"{stack.config_key}.{field}", getattr(getattr(env, stack.config_key), field)
    return None


def _value(env: Environment, field: str) -> Any:
    found = setting(env, field)
    return found[1] if found else None


def rollout(env: Environment) -> str:
    return f"herd-cfn rollout --env {env.name}"


# --- GitHub connection ------------------------------------------------------------------------------------

def _pipeline_stack_id(ctx: AwsContext, env: Environment, instances: list[InstanceStatus] | None) -> str | None:
    """The pipeline stack in the environment's account: its StackSet instance, else a stack deployed
    directly with ``herd-cfn deploy`` (named ``herd-pipeline``)."""
    for row in instances or []:
        if row.stack == names.PIPELINE and row.environment == env.name and row.stack_id:
            return row.stack_id
    cfn = ctx.client(ctx.session(env.account_id, env.region), "cloudformation")
    with translate_errors(f"reading stack {names.stack_name(names.PIPELINE)} in {env.account_id}"):
        stack = unless_missing(lambda: cfn.describe_stacks(StackName=names.stack_name(names.PIPELINE))["Stacks"][0],
                               "ValidationError")  # "Stack with id ... does not exist"
    return stack and stack["StackId"]


def connection(ctx: AwsContext, env: Environment, instances: list[InstanceStatus] | None) -> Finding:
    console = CONNECTION_CONSOLE.format(region=env.region)
    arn = _value(env, "connection_arn")  # an existing connection given in the parameters file
    if not arn:
        stack_id = _pipeline_stack_id(ctx, env, instances)
        if stack_id is None:
            return missing("GitHub connection: not created yet (the pipeline stack is not deployed)",
                           f"{rollout(env)} creates it as PENDING; then activate it once in the console: {console}")
        arn = connection_arn(ctx, InstanceStatus(env.name, env.account_id, env.region, names.PIPELINE, "",
                                                 stack_id=stack_id))
        if arn is None:
            return missing("GitHub connection: the pipeline stack has no connection ARN output",
                           f"{rollout(env)} (the stack's template predates the output, or its creation failed: "
                           f"see herd-cfn status --env {env.name})")
    state = connection_state(ctx, arn, env.account_id, env.region)
    if state == "AVAILABLE":
        return ok(f"GitHub connection AVAILABLE ({arn})")
    if state == "PENDING":
        return missing(f"GitHub connection PENDING: the pipeline cannot read GitHub ({arn})",
                       f"activate it once in the console: {console}")
    return missing(f"GitHub connection {state} ({arn})",
                   f"update the connection in the console (the GitHub app may have lost access): {console}")


# --- DNS --------------------------------------------------------------------------------------------------

def _covers(name: str, wanted: str) -> bool:
    """ACM's matching: exact, or a wildcard for exactly one leftmost label."""
    name, wanted = name.lower().rstrip("."), wanted.lower().rstrip(".")
    if name == wanted:
        return True
    return name.startswith("*.") and wanted.partition(".")[2] == name[2:]


def hosted_zone(ctx: AwsContext, env: Environment, key: str, zone_id: str) -> Finding:
    domain = env.domain.lower().rstrip(".")
    route53 = ctx.client(ctx.session(env.account_id, env.region), "route53")
    create = (f"create a public hosted zone for {domain} in account {env.account_id} (aws route53 create-hosted-zone "
              f"--name {domain} --caller-reference herd-{env.name}), delegate it from the parent zone (NS "
              f"records), and put its id in {env.file}: {key}")
    with translate_errors(f"reading hosted zone {zone_id} in {env.account_id}"):
        zone = unless_missing(lambda: route53.get_hosted_zone(Id=zone_id)["HostedZone"],
                              "NoSuchHostedZone", "InvalidInput")
    if zone is None:
        return missing(f"hosted zone {zone_id} ({key}) not found in account {env.account_id}", create)
    zone_name = zone["Name"].lower().rstrip(".")
    if not (domain == zone_name or domain.endswith(f".{zone_name}")):
        return missing(f"hosted zone {zone_id} is {zone_name}, which is neither {domain} nor a parent of it",
                       f"set {key} in {env.file} to the zone of {domain}, or: {create}")
    if (zone.get("Config") or {}).get("PrivateZone"):
        return missing(f"hosted zone {zone_id} ({zone_name}) is private: certificate validation and clients need "
                       "public DNS", create)
    return ok(f"hosted zone {zone_id} ({zone_name}) serves {domain} and "
              f"{names.Edge.MQTT_HOST_PREFIX}.{domain}")


def certificate(ctx: AwsContext, env: Environment, key: str, arn: str) -> Finding:
    domain = env.domain.lower()
    mqtt = f"{names.Edge.MQTT_HOST_PREFIX}.{domain}"
    request = (f"aws acm request-certificate --region {env.region} --domain-name {domain} "
               f"--subject-alternative-names {mqtt} --validation-method DNS, create its validation records, and "
               f"put its ARN in {env.file}: {key}")
    acm = ctx.client(ctx.session(env.account_id, env.region), "acm")
    with translate_errors(f"reading certificate {arn}"):
        cert = unless_missing(lambda: acm.describe_certificate(CertificateArn=arn)["Certificate"],
                              "ResourceNotFoundException", "ValidationException")
    if cert is None:
        return missing(f"certificate {arn} ({key}) not found", request)
    status = cert.get("Status", "UNKNOWN")
    covered = {cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])} - {""}
    uncovered = [name for name in (domain, mqtt) if not any(_covers(c, name) for c in covered)]
    if uncovered:
        return missing(f"certificate {arn} covers {', '.join(sorted(covered))}, not {' and '.join(uncovered)}",
                       request)
    if status == "PENDING_VALIDATION":
        return missing(f"certificate {arn} is PENDING_VALIDATION",
                       f"create the DNS validation records that `aws acm describe-certificate --region {env.region} "
                       f"--certificate-arn {arn}` lists (ResourceRecord), then wait for ISSUED")
    if status != "ISSUED":
        return missing(f"certificate {arn} is {status}", f"request a new one: {request}")
    return ok(f"certificate ISSUED for {domain} and {mqtt}")


def dns_setting(env: Environment) -> tuple[str, str, str] | None:
    """``(kind, section.field, value)`` of the environment's hosted zone or certificate; None when no stack of
    this project takes either."""
    for kind in ("hosted_zone_id", "certificate_arn"):
        found = setting(env, kind)
        if found and found[1]:
            return kind, found[0], found[1]
    return None


def dns(ctx: AwsContext, env: Environment, configured: tuple[str, str, str]) -> Finding:
    kind, key, value = configured
    check = hosted_zone if kind == "hosted_zone_id" else certificate
    return check(ctx, env, key, value)


# --- the manager's image ----------------------------------------------------------------------------------

def image(ctx: AwsContext, env: Environment) -> Finding:
    repository = names.Data.ECR_REPOSITORY_NAME
    ecr = ctx.client(ctx.session(env.account_id, env.region), "ecr")
    with translate_errors(f"reading ECR repository {repository} in {env.account_id}"):
        if unless_missing(lambda: ecr.describe_repositories(repositoryNames=[repository]),
                          "RepositoryNotFoundException") is None:
            return missing(f"ECR repository {repository} not found in account {env.account_id}",
                           f"{rollout(env)} (the {names.DATA} stack creates it)")
        # Tagged only: the pipeline tags every image with its commit; untagged ones are leftovers it expires.
        images = ecr.list_images(repositoryName=repository, maxResults=1,
                                 filter={"tagStatus": "TAGGED"}).get("imageIds", [])
    if not images:
        branch = _value(env, "branch") or "the environment's"
        public = _value(env, "manager_image") or "image"
        return warn(f"ECR repository {repository} has no image yet",
                    f"push to the {branch} branch (or run the pipeline once); until then the manager runs the public "
                    f"image {public}")
    return ok(f"ECR repository {repository} has images")


# --- the Docker Hub login of ECR's pull-through cache --------------------------------------------------------

def _store_login(env: Environment, name: str, key: str) -> str:
    return (f"create a Docker Hub access token (read-only public repositories is enough), store it: aws secretsmanager "
            f"create-secret --region {env.region} --name {name} --secret-string "
            "'{\"username\":\"<Docker Hub user>\",\"accessToken\":\"<token>\"}' "
            f"(in account {env.account_id}), put the ARN it prints in {env.file}: {key}, then "
            f"herd-cfn build and {rollout(env)}")


def docker_hub_login(ctx: AwsContext, env: Environment) -> Finding:
    """The secret ECR's pull-through cache logs in to Docker Hub with (docs/operating.md, Docker Hub pull limits)."""
    found = setting(env, "docker_hub_cache_secret_arn")
    key, arn = found if found else ("data.docker_hub_cache_secret_arn", None)
    default_name = f"{docker_hub.SECRET_NAME_PREFIX}docker-hub"
    if not arn:
        return warn(f"Docker Hub pull-through cache is off ({key} not set): tasks and image builds pull Docker Hub "
                    "images from Docker Hub itself, anonymously, 10 pulls an hour per IP address (a task that "
                    "keeps restarting can be refused with toomanyrequests)",
                    _store_login(env, default_name, key))
    name = arn.split(":secret:", 1)[1]
    secrets = ctx.client(ctx.session(env.account_id, env.region), "secretsmanager")
    with translate_errors(f"reading secret {arn}"):
        secret = unless_missing(lambda: secrets.describe_secret(SecretId=arn), "ResourceNotFoundException")
    if secret is None:
        return missing(f"Docker Hub login {arn} ({key}) not found in account {env.account_id}: ECR cannot make the "
                       "pull-through cache rule without it, so the data stack fails",
                       _store_login(env, name.rsplit("-", 1)[0], key))
    if secret.get("DeletedDate"):
        return missing(f"Docker Hub login {name} is scheduled for deletion",
                       f"aws secretsmanager restore-secret --region {env.region} --secret-id {arn}")
    if secret.get("KmsKeyId"):
        return warn(f"Docker Hub login {name} is encrypted with the key {secret['KmsKeyId']}: ECR reads it with its "
                    "service-linked role AWSServiceRoleForECRPullThroughCache, which may decrypt with that key only "
                    "if the key's policy lets it",
                    "allow that role kms:Decrypt in the key's policy, or store the login with the AWS managed key "
                    "aws/secretsmanager (the default)")
    return ok(f"Docker Hub login {name}: ECR caches Docker Hub's images under {docker_hub.PREFIX}/ with it")
