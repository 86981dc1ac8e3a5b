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
    # flow logs; build and hook; the three applications, the reconcile function and the restore task.
    assert {names.Network.FLOW_LOG_GROUP, names.Pipeline.BUILD_LOG_GROUP, names.Pipeline.HOOK_LOG_GROUP,
            S.POSTGRES_LOG_GROUP, S.KEYCLOAK_LOG_GROUP, S.MANAGER_LOG_GROUP, S.RECONCILE_LOG_GROUP,
            S.RESTORE_LOG_GROUP} <= set(found)


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
