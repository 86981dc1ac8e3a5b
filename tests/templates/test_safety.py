"""Nothing lost (issue 12): logs outlive their stacks, the database has connections for a deployment,
the dropped Keycloak secret is imported nowhere. Read from the templates as rendered."""

from __future__ import annotations

from cfn_flip import load_yaml

from herd_cfn import names
from herd_cfn.templates import registry
from tests.template_support import imports, of_type, props

S = names.Service
# pg_dump holds one connection; the dump task is allowed a few (a psql check, a retry overlapping).
DUMP_TASK_CONNECTIONS = 3


def _templates() -> dict[str, dict]:
    return {stack.name: load_yaml(stack.template_body()) for stack in registry.all_stacks()}


def test_every_log_group_outlives_its_stack():
    found = []
    for stack, template in _templates().items():
        for logical_id, group in of_type(template, "AWS::Logs::LogGroup").items():
            found.append(logical_id)
            assert group.get("DeletionPolicy") == "Retain", (stack, logical_id)
            assert group.get("UpdateReplacePolicy") == "Retain", (stack, logical_id)
    # flow logs; build and hooks; the three applications, the probe, the reconcile function and the restore task.
    assert {names.Network.FLOW_LOG_GROUP, names.Pipeline.BUILD_LOG_GROUP, names.Pipeline.DEPLOY_HOOKS_LOG_GROUP,
            names.Traffic.HOOK_LOG_GROUP, S.POSTGRES_LOG_GROUP, S.KEYCLOAK_LOG_GROUP, S.MANAGER_LOG_GROUP,
            names.Traffic.RECONCILE_LOG_GROUP, S.RESTORE_LOG_GROUP} <= set(found)


def _environment(template: dict, task: str) -> dict[str, str]:
    (container,) = props(template, task)["ContainerDefinitions"]
    return {item["Name"]: item["Value"] for item in container.get("Environment", [])}


def test_max_connections_cover_a_deployment_of_manager_and_keycloak_and_a_dump():
    template = _templates()[names.SERVICE]
    postgres = _environment(template, S.POSTGRES_TASK)
    manager = int(_environment(template, S.MANAGER_TASK)["OR_DB_POOL_MAX_SIZE"])
    keycloak = int(_environment(template, S.KEYCLOAK_TASK)["KC_DB_POOL_MAX_SIZE"])
    keycloak_tasks = int(template["Parameters"][S.KEYCLOAK_COUNT]["MaxValue"])
    # Blue/green: two managers; Keycloak's rolling deployment (200%): twice its largest count; a dump.
    needed = 2 * manager + 2 * keycloak_tasks * keycloak + DUMP_TASK_CONNECTIONS
    max_connections = int(postgres["POSTGRES_MAX_CONNECTIONS"])
    assert max_connections >= needed, (max_connections, needed)
    assert max_connections > 50, "the image's default (50) is what this replaces"
    assert (manager, keycloak) == (20, 20), "OpenRemote's deploy profile"
    # The image's entrypoint turns POSTGRES_MAX_CONNECTIONS into -c max_connections; nothing may override it.
    (container,) = props(template, S.POSTGRES_TASK)["ContainerDefinitions"]
    assert not [arg for arg in container["Command"] if "max_connections" in str(arg)]
    # Keycloak's deployment may really double it: the maximum stays at ECS's 200% or below.
    keycloak_service = props(template, S.KEYCLOAK_SERVICE)
    assert keycloak_service["DeploymentConfiguration"].get("MaximumPercent", 200) <= 200


def test_the_dropped_keycloak_secret_is_neither_made_nor_imported():
    templates = _templates()
    assert names.Data.KEYCLOAK_SECRET not in templates[names.DATA]["Resources"]
    dropped_export = names.export_name(names.DATA, "KeycloakAdminSecretArn")
    assert not [stack for stack, template in templates.items() if dropped_export in imports(template)]
    assert "KeycloakAdminSecretArn" not in templates[names.DATA]["Outputs"]


# --- load balancer access logs ---------------------------------------------------------------------

E = names.Edge


def test_access_logs_are_on_in_prod_and_off_in_dev_by_the_parameters_files():
    from tests.template_support import parameter_values

    assert parameter_values(names.EDGE, "prod")[E.ACCESS_LOGS] == "true"
    assert parameter_values(names.EDGE, "dev")[E.ACCESS_LOGS] == "false"
    assert parameter_values(names.EDGE, "prod")[E.ACCESS_LOG_BUCKET] == "", "prod: the stack's own bucket"


def test_both_load_balancers_log_to_the_bucket_under_their_own_prefix():
    template = _templates()[names.EDGE]
    for balancer, prefix in ((E.ALB, E.ALB_LOG_PREFIX), (E.NLB, E.NLB_LOG_PREFIX)):
        attributes = props(template, balancer)["LoadBalancerAttributes"]
        assert {"Key": "access_logs.s3.enabled", "Value": {"Ref": E.ACCESS_LOGS}} in attributes
        conditional = [a["Fn::If"][1] for a in attributes if "Fn::If" in a]
        assert {"Key": "access_logs.s3.prefix", "Value": prefix} in conditional
        (bucket,) = [a["Value"] for a in conditional if a["Key"] == "access_logs.s3.bucket"]
        # The stack's bucket, reached only after its policy exists (ELB checks it may write), or the user's.
        own, given = bucket["Fn::If"][1:]
        assert own == {"Fn::Select": [0, [{"Ref": E.LOG_BUCKET}, {"Ref": E.LOG_BUCKET_POLICY}]]}
        assert given == {"Ref": E.ACCESS_LOG_BUCKET}
        # No checkov skip for access logs (CKV_AWS_91) any more: the parameter's default is on.
        skips = template["Resources"][balancer].get("Metadata", {}).get("checkov", {}).get("skip", [])
        assert "CKV_AWS_91" not in [s["id"] for s in skips]
    assert template["Parameters"][E.ACCESS_LOGS]["Default"] == "true"
    assert template["Conditions"][E.HAS_ACCESS_LOGS] == {"Fn::Equals": [{"Ref": E.ACCESS_LOGS}, "true"]}


def test_the_log_bucket_is_retained_encrypted_with_s3_keys_private_and_expires_logs():
    template = _templates()[names.EDGE]
    bucket = template["Resources"][E.LOG_BUCKET]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"], bucket["Condition"]) == (
        "Retain", "Retain", E.CREATE_LOG_BUCKET)
    settings = bucket["Properties"]
    (rule,) = settings["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, "ALB logs: SSE-S3 only"
    assert all(settings["PublicAccessBlockConfiguration"].values())
    expire = settings["LifecycleConfiguration"]["Rules"][0]
    assert expire["ExpirationInDays"] == {"Ref": E.ACCESS_LOG_RETENTION}
    assert expire["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": E.ACCESS_LOG_RETENTION}


def test_the_bucket_policy_lets_exactly_the_two_log_writers_in():
    template = _templates()[names.EDGE]
    statements = {s["Sid"]: s for s in props(template, E.LOG_BUCKET_POLICY)["PolicyDocument"]["Statement"]}
    alb = statements["AlbAccessLogs"]
    account = alb["Principal"]["AWS"]["Fn::Sub"][1]["Account"]
    assert account == {"Fn::FindInMap": [E.ELB_LOG_ACCOUNTS, {"Ref": "AWS::Region"}, "Account"]}
    assert template["Mappings"][E.ELB_LOG_ACCOUNTS]["eu-west-1"] == {"Account": "156460612806"}
    assert alb["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::${%s}/%s/AWSLogs/${AWS::AccountId}/*"
                                % (E.LOG_BUCKET, E.ALB_LOG_PREFIX)}]
    nlb = statements["NlbAccessLogs"]
    assert nlb["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert nlb["Resource"][0]["Fn::Sub"].endswith(f"/{E.NLB_LOG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*")
    assert nlb["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert statements["NlbAclCheck"]["Action"] == ["s3:GetBucketAcl"]
    assert statements["TlsOnly"]["Effect"] == "Deny"


def test_a_given_bucket_with_logs_turned_off_is_one_clear_error(project_copy, capsys):
    import json

    from herd_cfn import cli

    path = project_copy / "parameters" / "dev.json"
    data = json.loads(path.read_text())
    data["edge"].update(access_logs=False, access_log_bucket="herd-alb-logs-dev")
    path.write_text(json.dumps(data))
    code = cli.build_templates_main(["--parameters-dir", str(project_copy / "parameters"),
                                     "--output-dir", str(project_copy / "output")])
    err = capsys.readouterr().err
    assert code == 2 and "dev.json" in err and "access_logs is false" in err


def test_prod_access_logs_on_the_emulator(aws, project_copy):
    """The edge template with AccessLogs=true on moto: the bucket is made, encrypted, and stays when the
    stack is deleted."""
    from herd_cfn.emulator.server import account_session
    from tests.template_support import parameter_values

    session = account_session(aws.endpoint_url, "333333333333", "eu-west-1")
    cfn, s3 = (session.client(s, endpoint_url=aws.endpoint_url) for s in ("cloudformation", "s3"))
    for stack in (names.NETWORK, names.EDGE):
        values = parameter_values(stack, "prod")
        body = (project_copy / "output" / "templates" / f"{stack}.yaml").read_text()
        if stack == names.EDGE:
            arn = session.client("acm", endpoint_url=aws.endpoint_url).request_certificate(
                DomainName=values[E.DOMAIN], SubjectAlternativeNames=[f"mqtt.{values[E.DOMAIN]}"])["CertificateArn"]
            values = {**values, E.HOSTED_ZONE_ID: "", E.CERTIFICATE_ARN: arn}
        cfn.create_stack(StackName=names.stack_name(stack), TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               cfn.describe_stacks(StackName=names.stack_name(names.EDGE))["Stacks"][0]["Outputs"]}
    bucket = outputs[E.OUT_ACCESS_LOG_BUCKET]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto 5.2.5's CloudFormation skips AWS::S3::BucketPolicy and drops the bucket's lifecycle and the
    # load balancers' attributes (the emulator branch emu-fixes adds some); the template tests above pin
    # them. What moto does do: the bucket outlives the stack.
    cfn.delete_stack(StackName=names.stack_name(names.EDGE))
    assert not [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackName"] == names.stack_name(names.EDGE) and s["StackStatus"] != "DELETE_COMPLETE"]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_log_groups_after_the_data_stack_use_its_key_and_the_key_admits_exactly_them():
    """CloudWatch Logs encrypts with the data stack's key only log groups its key policy names (the
    kms:EncryptionContext:aws:logs:arn condition): a group whose name no pattern matches would fail to
    associate the key, so each group's name must match a pattern."""
    from fnmatch import fnmatch

    from herd_cfn.templates.stacks.data.log_encryption import LOG_GROUP_PATTERNS

    key = {"Fn::ImportValue": names.export_name(names.DATA, names.Data.OUT_LOGS_KEY_ARN)}
    encrypted = []
    for stack in registry.stackset_stacks():
        for logical_id, group in of_type(_templates()[stack.name], "AWS::Logs::LogGroup").items():
            if names.DATA not in stack.depends_on:
                continue
            properties = group["Properties"]
            assert properties.get("KmsKeyId") == key, (stack.name, logical_id)
            assert any(fnmatch(properties["LogGroupName"], pattern) for pattern in LOG_GROUP_PATTERNS), logical_id
            encrypted.append(logical_id)
    assert len(encrypted) >= 9  # service 5, traffic 2, pipeline 2
    policy = load_yaml(registry.get(names.DATA).template_body())["Resources"][names.Data.LOGS_KEY]["Properties"]
    (logs_service,) = [s for s in policy["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    condition = logs_service["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert [c["Fn::Sub"].rsplit(":log-group:", 1)[1] for c in condition] == list(LOG_GROUP_PATTERNS)


def test_every_role_that_writes_to_an_encrypted_log_group_may_use_its_key_through_logs_only():
    """CloudWatch Logs' guide asks for kms:ViaService on the roles that call CloudWatch Logs when the group
    has a customer managed key: each writer of a log group after the data stack gets exactly that."""
    key = {"Fn::ImportValue": names.export_name(names.DATA, names.Data.OUT_LOGS_KEY_ARN)}
    writers = []
    for stack in registry.stackset_stacks():
        if names.DATA not in stack.depends_on:
            continue
        for logical_id, role in of_type(_templates()[stack.name], "AWS::IAM::Role").items():
            statements = [s for p in role["Properties"].get("Policies", []) if "PolicyDocument" in p
                          for s in p["PolicyDocument"]["Statement"] if "Action" in s]
            if not any("logs:PutLogEvents" in s["Action"] for s in statements):
                continue
            writers.append(logical_id)
            (kms,) = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
            assert kms["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"] and kms["Resource"] == [key], logical_id
            assert kms["Condition"] == {"StringEquals": {
                "kms:ViaService": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}}, logical_id
    assert {S.EXECUTION_ROLE, names.Pipeline.BUILD_ROLE, names.Pipeline.DEPLOY_HOOKS_ROLE,
            names.Traffic.HOOK_ROLE, names.Traffic.RECONCILE_ROLE} <= set(writers)
