"""The data stack: structure of the generated template, the rules of the ``data`` section, and a
deployment of network + data to moto in one simulated account."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.emulator.server import account_session
from herd_cfn.errors import InputError
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks import data
from herd_cfn.templates.stacks.data.config import COLD_STORAGE_MINIMUM_DAYS, PRODUCTION_MIN_DAILY_RETENTION_DAYS
from tests.template_support import parameter_values

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "output"
D = names.Data

# Resource types that hold data or identity that cannot be recreated: losing one loses data (file
# system, its access points' directories, recovery points, generated passwords, pushed images).
STATEFUL_TYPES = {
    "AWS::EFS::FileSystem",
    "AWS::EFS::AccessPoint",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
    "AWS::ECR::Repository",
    "AWS::RDS::DBInstance",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
}


@pytest.fixture(scope="module")
def template() -> dict:
    return load_yaml((OUTPUT / "templates" / "data.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project():
    return load_project(ROOT / "parameters")


def _resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _one(template: dict, resource_type: str) -> dict:
    found = _resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


# --- structure -----------------------------------------------------------------------------------


def test_output_is_what_the_code_builds(template):
    assert load_yaml(data.STACK.template_body()) == template


def test_every_stateful_resource_is_retained(template):
    stateful = {k: v for k, v in template["Resources"].items() if v["Type"] in STATEFUL_TYPES}
    # The stack must actually contain its stateful resources, else this test would pass on nothing.
    assert {v["Type"] for v in stateful.values()} >= {
        "AWS::EFS::FileSystem", "AWS::EFS::AccessPoint", "AWS::Backup::BackupVault",
        "AWS::SecretsManager::Secret", "AWS::ECR::Repository",
    }
    for logical_id, resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def test_file_system_is_encrypted_and_policy_enforces_tls_and_access_points(template):
    fs = _one(template, "AWS::EFS::FileSystem")["Properties"]
    assert fs["Encrypted"] is True
    # Our backup plan replaces EFS's automatic backups (no second copy in the default vault).
    assert fs["BackupPolicy"] == {"Status": "DISABLED"}
    statements = {s["Sid"]: s for s in fs["FileSystemPolicy"]["Statement"]}
    assert all(s["Effect"] == "Deny" for s in statements.values()), "Allow would reopen anonymous access"
    tls = statements["DenyUnencryptedTransport"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "elasticfilesystem:ClientMount" in tls["Action"]
    no_ap = statements["DenyMountWithoutAccessPoint"]
    assert no_ap["Condition"] == {"Null": {"elasticfilesystem:AccessPointArn": "true"}}
    assert {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"} <= set(no_ap["Action"])
    assert statements["DenyRootAccess"]["Action"] == ["elasticfilesystem:ClientRootAccess"]


def _group_refs(value) -> str | None:
    """The logical id a GroupId/SourceSecurityGroupId points at (Ref or GetAtt .GroupId)."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "GroupId":
        return value["Fn::GetAtt"][0]
    return None


def test_efs_security_group_admits_only_nfs_from_the_client_group(template):
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    efs_group = groups[D.EFS_SECURITY_GROUP]["Properties"]
    rules = list(efs_group.get("SecurityGroupIngress", []))
    rules += [r["Properties"] for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
              if _group_refs(r["Properties"]["GroupId"]) == D.EFS_SECURITY_GROUP]
    assert len(rules) == 1
    (rule,) = rules
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 2049, 2049)
    assert _group_refs(rule["SourceSecurityGroupId"]) == D.EFS_CLIENT_SECURITY_GROUP
    assert not {"CidrIp", "CidrIpv6", "SourcePrefixListId"} & set(rule)
    # The mount targets use the EFS group and nothing else.
    for target in _resources(template, "AWS::EFS::MountTarget").values():
        assert [_group_refs(g) for g in target["Properties"]["SecurityGroups"]] == [D.EFS_SECURITY_GROUP]


def test_efs_groups_egress_is_closed_except_nfs_to_efs(template):
    groups = _resources(template, "AWS::EC2::SecurityGroup")
    # Without an explicit rule AWS adds "allow all" egress; the EFS group's rule matches no packet.
    (efs_egress,) = groups[D.EFS_SECURITY_GROUP]["Properties"]["SecurityGroupEgress"]
    assert efs_egress["CidrIp"] == "255.255.255.255/32"
    assert efs_egress["IpProtocol"] == "icmp"
    (client_egress,) = groups[D.EFS_CLIENT_SECURITY_GROUP]["Properties"]["SecurityGroupEgress"]
    assert (client_egress["IpProtocol"], client_egress["FromPort"], client_egress["ToPort"]) == ("tcp", 2049, 2049)
    assert _group_refs(client_egress["DestinationSecurityGroupId"]) == D.EFS_SECURITY_GROUP
    assert not _resources(template, "AWS::EC2::SecurityGroupEgress")


def test_access_points_enforce_each_images_owner(template):
    points = _resources(template, "AWS::EFS::AccessPoint")
    # The two at "/" serve only herd-cfn restore's task (tests/operations/test_restore.py); /dumps the dump task.
    assert set(points) == {D.POSTGRES_ACCESS_POINT, D.MANAGER_ACCESS_POINT, D.RESTORE_POSTGRES_ACCESS_POINT,
                           D.RESTORE_MANAGER_ACCESS_POINT, D.DUMPS_ACCESS_POINT}
    points = {k: v for k, v in points.items()
              if k in (D.POSTGRES_ACCESS_POINT, D.MANAGER_ACCESS_POINT, D.DUMPS_ACCESS_POINT)}
    postgres = points[D.POSTGRES_ACCESS_POINT]["Properties"]
    # openremote/postgresql: usermod -u 70 / groupmod -g 70 (see the comment in herd_cfn/templates/stacks/data/).
    assert postgres["PosixUser"] == {"Uid": "70", "Gid": "70"}
    assert postgres["RootDirectory"]["CreationInfo"] == {"OwnerUid": "70", "OwnerGid": "70", "Permissions": "0700"}
    for logical_id, point in points.items():
        props = point["Properties"]
        user, creation = props["PosixUser"], props["RootDirectory"]["CreationInfo"]
        assert (creation["OwnerUid"], creation["OwnerGid"]) == (user["Uid"], user["Gid"]), logical_id
        # uid/gid 0 would need ClientRootAccess, which the file system policy denies.
        assert user["Uid"] != "0" and user["Gid"] != "0", logical_id
        assert int(creation["Permissions"], 8) & 0o007 == 0, f"{logical_id}: world-accessible root directory"
        assert props["FileSystemId"] == {"Ref": D.FILE_SYSTEM}
    paths = [p["Properties"]["RootDirectory"]["Path"] for p in points.values()]
    assert len(set(paths)) == len(paths) and "/" not in paths


def test_a_mount_target_per_private_subnet_and_the_third_only_with_three_azs(template, project):
    targets = _resources(template, "AWS::EFS::MountTarget")
    assert set(targets) == {D.mount_target(az) for az in "ABC"}
    for index, az in enumerate("ABC"):
        target = targets[D.mount_target(az)]
        subnet = target["Properties"]["SubnetId"]["Fn::Select"]
        assert subnet[0] == index
        assert subnet[1] == {"Fn::Split": [",", {"Fn::ImportValue": "herd-network-PrivateSubnetIds"}]}
        assert target.get("Condition") == (D.THREE_AZS if az == "C" else None)
    assert template["Conditions"][D.THREE_AZS] == {"Fn::Equals": [{"Ref": D.AZ_COUNT}, "3"]}
    for env in project.environments.values():
        assert parameter_values("data", env.name)[D.AZ_COUNT] == str(env.network.az_count)


def test_secrets_are_generated_and_safe_in_urls_and_shells(template):
    secrets = _resources(template, "AWS::SecretsManager::Secret")
    # No Keycloak admin secret: Keycloak's admin is OpenRemote's admin (tests/templates/test_logical_ids.py DROPPED).
    assert set(secrets) == {D.DB_SECRET, D.ADMIN_SECRET}
    for logical_id, secret in secrets.items():
        props = secret["Properties"]
        assert "SecretString" not in props, logical_id
        generated = props["GenerateSecretString"]
        assert generated["GenerateStringKey"] == D.SECRET_PASSWORD_KEY
        assert D.SECRET_PASSWORD_KEY not in json.loads(generated["SecretStringTemplate"])
        assert generated["ExcludePunctuation"] is True and generated["IncludeSpace"] is False
        assert generated["PasswordLength"] >= 32
        skips = {s["id"]: s["comment"] for s in secret["Metadata"]["checkov"]["skip"]}
        assert "rotation" in skips["CKV2_AWS_57"].lower()


def test_no_secret_value_in_any_template_orparameter_values():
    secret_like = re.compile(r"password|secret|token|credential", re.IGNORECASE)
    for path in sorted((OUTPUT / "parameters").glob("*/*.json")):
        for key, value in parameter_values(path.stem, path.parent.name).items():
            assert not secret_like.search(key), f"{path}: parameter {key} looks like a secret"
            assert not re.fullmatch(r"[A-Za-z0-9]{32,}", value), f"{path}: {key} looks like a generated password"
    for path in sorted((OUTPUT / "templates").glob("*.yaml")):
        body = load_yaml(path.read_text(encoding="utf-8"))
        for name, parameter in (body.get("Parameters") or {}).items():
            if secret_like.search(name):
                assert parameter.get("NoEcho") is True and "Default" not in parameter, f"{path}: {name}"
        for logical_id, resource in body["Resources"].items():
            if resource["Type"] == "AWS::SecretsManager::Secret":
                assert "SecretString" not in resource.get("Properties", {}), f"{path}: {logical_id}"


def _repositories(template) -> dict[str, dict]:
    return {logical_id: resource["Properties"] for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::ECR::Repository"}


def test_manager_and_keycloak_repositories_are_alike(template):
    repositories = _repositories(template)
    assert {props["RepositoryName"]: logical_id for logical_id, props in repositories.items()} == {
        D.ECR_REPOSITORY_NAME: D.ECR_REPOSITORY, D.KEYCLOAK_ECR_REPOSITORY_NAME: D.KEYCLOAK_ECR_REPOSITORY}
    manager, keycloak = (dict(repositories[name]) for name in (D.ECR_REPOSITORY, D.KEYCLOAK_ECR_REPOSITORY))
    assert {k: v for k, v in manager.items() if k != "RepositoryName"} == \
        {k: v for k, v in keycloak.items() if k != "RepositoryName"}, "same scanning, tags, encryption, lifecycle"
    resources = template["Resources"]
    assert resources[D.ECR_REPOSITORY]["Metadata"] == resources[D.KEYCLOAK_ECR_REPOSITORY]["Metadata"]
    assert resources[D.KEYCLOAK_ECR_REPOSITORY]["DeletionPolicy"] == "Retain"


def test_ecr_repository_scans_is_immutable_encrypted_and_expires_old_images(template, project):
    props = _repositories(template)[D.ECR_REPOSITORY]
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    # Immutable but for the build cache's tag, which every build overwrites.
    assert props["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert props["ImageTagMutabilityExclusionFilters"] == [{
        "ImageTagMutabilityExclusionFilterType": "WILDCARD",
        "ImageTagMutabilityExclusionFilterValue": D.BUILD_CACHE_TAG}]
    assert props["EncryptionConfiguration"]["EncryptionType"] in ("AES256", "KMS")
    text = props["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"]
    for env in project.environments.values():
        keep = parameter_values("data", env.name)[D.ECR_IMAGES_TO_KEEP]
        assert keep == str(env.data.ecr_images_to_keep)
        rules = json.loads(text.replace("${" + D.ECR_IMAGES_TO_KEEP + "}", keep))["rules"]
        untagged = [r for r in rules if r["selection"]["tagStatus"] == "untagged"]
        assert [(r["selection"]["countType"], r["selection"]["countNumber"]) for r in untagged] == [
            ("sinceImagePushed", 1)]
        (any_rule,) = [r for r in rules if r["selection"]["tagStatus"] == "any"]
        assert any_rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan",
                                         "countNumber": int(keep)}
        # ECR requires the tagStatus "any" rule to have the highest priority number.
        assert any_rule["rulePriority"] == max(r["rulePriority"] for r in rules)
        # An image a rule's tag selection matches is never expired by a lower-priority rule (ECR's lifecycle
        # evaluation): the first rule selects the one build cache image and can never expire it.
        first = min(rules, key=lambda r: r["rulePriority"])
        assert first["selection"] == {"tagStatus": "tagged", "tagPatternList": [D.BUILD_CACHE_TAG],
                                      "countType": "imageCountMoreThan", "countNumber": 1}


def test_backup_plan_rules_follow_the_retention_parameters(template):
    vault = _one(template, "AWS::Backup::BackupVault")["Properties"]
    denied = json.loads(vault["AccessPolicy"])["Statement"][0]
    assert denied["Effect"] == "Deny" and "backup:DeleteRecoveryPoint" in denied["Action"]
    rules = _one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"]["BackupPlanRule"]
    daily, weekly, monthly = rules
    assert daily["Lifecycle"] == {"DeleteAfterDays": {"Ref": D.BACKUP_DAILY_RETENTION}}
    assert weekly["Fn::If"][0] == D.WEEKLY_BACKUPS and weekly["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert monthly["Fn::If"][1]["Lifecycle"]["MoveToColdStorageAfterDays"]["Fn::If"][0] == D.MONTHLY_COLD_STORAGE
    for rule in (daily, weekly["Fn::If"][1], monthly["Fn::If"][1]):
        assert rule["TargetBackupVault"] == {"Ref": D.BACKUP_VAULT}
    selection = _one(template, "AWS::Backup::BackupSelection")["Properties"]["BackupSelection"]
    assert selection["Resources"] == [{"Fn::GetAtt": [D.FILE_SYSTEM, "Arn"]}]
    role = template["Resources"][selection["IamRoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}


def test_backup_retention_per_environment(project):
    by_env = {}
    for env in project.environments.values():
        values = parameter_values("data", env.name)
        backup = env.data.backup
        assert values[D.BACKUP_DAILY_RETENTION] == str(backup.daily_retention_days)
        assert values[D.BACKUP_WEEKLY_RETENTION] == str(backup.weekly_retention_days)
        assert values[D.BACKUP_MONTHLY_RETENTION] == str(backup.monthly_retention_days)
        assert values[D.BACKUP_COLD_STORAGE_AFTER] == str(backup.monthly_cold_storage_after_days)
        cold = backup.monthly_cold_storage_after_days
        if cold:
            assert backup.monthly_retention_days >= cold + COLD_STORAGE_MINIMUM_DAYS
        by_env[env.production] = backup.daily_retention_days
    assert by_env[True] >= PRODUCTION_MIN_DAILY_RETENTION_DAYS
    assert by_env[True] > by_env[False], "prod keeps backups longer than dev"


def test_exports_are_the_agreed_names(template):
    exported = {o["Export"]["Name"] for o in template["Outputs"].values()}
    agreed = {names.export_name(names.DATA, value) for key, value in vars(D).items() if key.startswith("OUT_")}
    assert exported == agreed


# --- bad input -----------------------------------------------------------------------------------


def _break(directory: Path, env: str, change) -> Path:
    path = directory / "parameters" / f"{env}.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    change(settings["data"])
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


@pytest.mark.parametrize(("env", "change", "key", "rule"), [
    ("prod", lambda d: d["backup"].update(daily_retention_days=7), "data.backup.daily_retention_days",
     "production environment keeps daily backups at least 30 days, got 7"),
    ("prod", lambda d: d["backup"].update(monthly_retention_days=120, monthly_cold_storage_after_days=60),
     "data.backup", "monthly_retention_days (120) must be at least monthly_cold_storage_after_days + 90 (150)"),
    ("dev", lambda d: d["backup"].update(monthly_cold_storage_after_days=30), "data.backup",
     "monthly_cold_storage_after_days needs monthly backups"),
    ("dev", lambda d: d["backup"].update(weekly_retention_days=3), "data.backup",
     "weekly_retention_days must be 0 (no weekly backups) or at least 7"),
    ("dev", lambda d: d.update(efs_throughput_mode="provisioned"), "data.efs_throughput_mode", "'elastic'"),
    ("dev", lambda d: d.update(ecr_images_to_keep=1), "data.ecr_images_to_keep", "greater than or equal to 2"),
    ("dev", lambda d: d.update(ecr_images_to_keep="10"), "data.ecr_images_to_keep", "wrong type"),
    ("dev", lambda d: d.update(ecr_image_to_keep=5), "data.ecr_image_to_keep",
     "did you mean 'ecr_images_to_keep'?"),
    ("dev", lambda d: d.pop("backup"), "data.backup", "required key is missing"),
])
def test_bad_data_section_gives_one_clear_error(project_copy, env, change, key, rule):
    path = _break(project_copy, env, change)
    with pytest.raises(InputError) as caught:
        load_project(project_copy / "parameters")
    error = caught.value
    assert error.where == str(path)
    assert error.key == key
    assert rule in error.rule
    assert str(path) in str(error) and key in str(error)


# --- deployment to moto --------------------------------------------------------------------------

def _deploy(cfn, stack: str, env: str, **overrides: str) -> dict:
    """The template of output/ as it is (herd_cfn.emulator.fixes fills what moto lacks for it)."""
    parameters = parameter_values(stack, env, **overrides)
    cfn.create_stack(
        StackName=names.stack_name(stack), TemplateBody=(OUTPUT / "templates" / f"{stack}.yaml").read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    return cfn.describe_stacks(StackName=names.stack_name(stack))["Stacks"][0]


@pytest.fixture
def deployed(aws, project):
    """network then data, created from output/ in the dev account of the emulator."""
    env = project.environment("dev")
    session = account_session(aws.endpoint_url, env.account_id, env.region)
    clients = {name: session.client(name, endpoint_url=aws.endpoint_url)
               for name in ("cloudformation", "ec2", "efs", "ecr", "secretsmanager", "backup")}
    network = _deploy(clients["cloudformation"], names.NETWORK, env.name)
    exports_after_network = {e["Name"]: e["Value"] for e in clients["cloudformation"].list_exports()["Exports"]}
    stack = _deploy(clients["cloudformation"], names.DATA, env.name)
    return {"env": env, "network": network, "data": stack, "clients": clients,
            "exports_after_network": exports_after_network}


def _outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}


def test_data_stack_deploys_and_imports_the_network(deployed):
    env, efs, ec2 = deployed["env"], deployed["clients"]["efs"], deployed["clients"]["ec2"]
    assert deployed["network"]["StackStatus"] == "CREATE_COMPLETE"
    assert deployed["data"]["StackStatus"] == "CREATE_COMPLETE"
    network = deployed["exports_after_network"]
    vpc_id = network[names.export_name(names.NETWORK, names.Network.OUT_VPC_ID)]
    private = network[names.export_name(names.NETWORK, names.Network.OUT_PRIVATE_SUBNETS)].split(",")
    assert len(private) == env.network.az_count
    assert _outputs(deployed["network"])[names.Network.OUT_VPC_ID] == vpc_id
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [vpc_id], "the network stack made exactly one VPC"
    # One private subnet per AZ of the stack's region (GetAZs '', answered by herd_cfn.emulator.fixes:
    # moto 5.2.5 gives us-east-1 zones whatever the region, which AWS would refuse).
    zones = [s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=private)["Subnets"]]
    region_zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert sorted(zones) == sorted(region_zones)[:env.network.az_count]

    outputs = _outputs(deployed["data"])
    file_system_id = outputs[D.OUT_FILE_SYSTEM_ID]
    (fs,) = efs.describe_file_systems(FileSystemId=file_system_id)["FileSystems"]
    assert fs["Encrypted"] is True
    assert fs["ThroughputMode"] == env.data.efs_throughput_mode
    assert outputs[D.OUT_FILE_SYSTEM_ARN] == fs["FileSystemArn"]
    lifecycle = efs.describe_lifecycle_configuration(FileSystemId=file_system_id)["LifecyclePolicies"]
    assert {"TransitionToIA": env.data.efs_transition_to_ia} in lifecycle
    # moto's CloudFormation drops FileSystemPolicy (and BackupPolicy); AWS would return the policy that
    # denies non-TLS and non-access-point mounts, and a DISABLED backup policy.
    with pytest.raises(efs.exceptions.PolicyNotFound):
        efs.describe_file_system_policy(FileSystemId=file_system_id)

    targets = efs.describe_mount_targets(FileSystemId=file_system_id)["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(private)
    assert {t["VpcId"] for t in targets} == {vpc_id}

    groups = {g["GroupId"]: g for g in ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]}
    client_group = outputs[D.OUT_EFS_CLIENT_SECURITY_GROUP]
    assert client_group in groups
    for target in targets:
        (efs_group,) = efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])[
            "SecurityGroups"]
        (permission,) = groups[efs_group]["IpPermissions"]
        assert (permission["IpProtocol"], permission["FromPort"], permission["ToPort"]) == ("tcp", 2049, 2049)
        assert [pair["GroupId"] for pair in permission["UserIdGroupPairs"]] == [client_group]
        assert permission["IpRanges"] == []
        # moto ignores inline SecurityGroupEgress of AWS::EC2::SecurityGroup and keeps the default
        # "allow all"; AWS replaces it with the template's rule (here: one that matches nothing).
        assert groups[efs_group]["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_access_points_in_moto(deployed):
    efs = deployed["clients"]["efs"]
    outputs = _outputs(deployed["data"])
    points = efs.describe_access_points(FileSystemId=outputs[D.OUT_FILE_SYSTEM_ID])["AccessPoints"]
    by_path = {p["RootDirectory"]["Path"]: p for p in points}
    postgres = by_path[data.POSTGRES_DATA_PATH]
    assert postgres["PosixUser"] == {"Uid": int(data.POSTGRES_UID), "Gid": int(data.POSTGRES_GID)}
    assert postgres["RootDirectory"]["CreationInfo"]["Permissions"] == data.POSTGRES_DATA_PERMISSIONS
    manager = by_path[data.MANAGER_STORAGE_PATH]
    assert manager["PosixUser"] == {"Uid": int(data.MANAGER_UID), "Gid": int(data.MANAGER_GID)}
    # Ref and GetAtt Arn of an access point come from herd_cfn.emulator.fixes (moto 5.2.5 gives the
    # Python object's repr and an HTTP 500); they are what AWS returns: the fsap-... id and its ARN.
    assert outputs[D.OUT_POSTGRES_ACCESS_POINT] == postgres["AccessPointId"]
    assert outputs[D.OUT_POSTGRES_ACCESS_POINT_ARN] == postgres["AccessPointArn"]
    assert outputs[D.OUT_MANAGER_ACCESS_POINT] == manager["AccessPointId"]
    assert outputs[D.OUT_MANAGER_ACCESS_POINT_ARN] == manager["AccessPointArn"]


def test_secrets_and_backup_resources_in_moto(deployed):
    """The emulator creates the Secrets Manager secrets (generated passwords) and the AWS Backup vault and
    plan as AWS does (herd_cfn.emulator.fixes), so every export carries a value."""
    clients = deployed["clients"]
    cfn = clients["cloudformation"]
    resources = {r["LogicalResourceId"]: r for r in cfn.list_stack_resources(
        StackName=names.stack_name(names.DATA))["StackResourceSummaries"]}
    assert resources[D.DB_SECRET]["ResourceType"] == "AWS::SecretsManager::Secret"
    assert resources[D.BACKUP_VAULT]["ResourceType"] == "AWS::Backup::BackupVault"
    exports = {e["Name"]: e.get("Value") for e in cfn.list_exports()["Exports"]}
    assert {s["ARN"] for s in clients["secretsmanager"].list_secrets()["SecretList"]} == {
        exports[names.export_name(names.DATA, o)]
        for o in (D.OUT_DB_SECRET_ARN, D.OUT_ADMIN_SECRET_ARN)}
    (vault,) = clients["backup"].list_backup_vaults()["BackupVaultList"]
    assert vault["BackupVaultName"] == exports[names.export_name(names.DATA, D.OUT_BACKUP_VAULT_NAME)]
    for output in (D.OUT_FILE_SYSTEM_ID, D.OUT_EFS_CLIENT_SECURITY_GROUP, D.OUT_ECR_REPOSITORY_URI):
        assert exports[names.export_name(names.DATA, output)]


def test_ecr_repository_in_moto(deployed):
    ecr = deployed["clients"]["ecr"]
    outputs = _outputs(deployed["data"])
    (repository,) = ecr.describe_repositories(repositoryNames=[outputs[D.OUT_ECR_REPOSITORY_NAME]])["repositories"]
    assert repository["repositoryUri"] == outputs[D.OUT_ECR_REPOSITORY_URI]
    assert repository["repositoryArn"] == outputs[D.OUT_ECR_REPOSITORY_ARN]
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": D.BUILD_CACHE_TAG}]
    (keycloak,) = ecr.describe_repositories(repositoryNames=[D.KEYCLOAK_ECR_REPOSITORY_NAME])["repositories"]
    assert keycloak["repositoryUri"] == outputs[D.OUT_KEYCLOAK_ECR_REPOSITORY_URI]
    assert keycloak["repositoryArn"] == outputs[D.OUT_KEYCLOAK_ECR_REPOSITORY_ARN]
    # moto's CloudFormation applies only the name and tag mutability: scanning and encryption come back
    # empty and no lifecycle policy is set. AWS applies all three (checked on the template above).
    assert repository["imageScanningConfiguration"] == {}
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=repository["repositoryName"])


def test_docker_hub_cache_in_moto_with_the_login_and_without_it(deployed, aws, project):
    """dev names a login: the rule and its repositories' template exist. Without one (another account, the
    same template) neither does, and nothing else changes."""
    ecr = deployed["clients"]["ecr"]
    login = parameter_values(names.DATA, "dev")[D.DOCKER_HUB_CACHE_LOGIN_ARN]
    (rule,) = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert (rule["ecrRepositoryPrefix"], rule["credentialArn"]) == (D.DOCKER_HUB_CACHE_PREFIX, login)
    assert [t["prefix"] for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]] == [
        D.DOCKER_HUB_CACHE_PREFIX]

    session = account_session(aws.endpoint_url, "444444444444", project.environment("dev").region)
    cfn, other_ecr = (session.client(name, endpoint_url=aws.endpoint_url) for name in ("cloudformation", "ecr"))
    _deploy(cfn, names.NETWORK, "dev")
    stack = _deploy(cfn, names.DATA, "dev", **{D.DOCKER_HUB_CACHE_LOGIN_ARN: ""})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert other_ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    assert other_ecr.describe_repository_creation_templates()["repositoryCreationTemplates"] == []
    assert set(_outputs(stack)) == set(_outputs(deployed["data"]))
