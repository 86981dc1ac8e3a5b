"""Gaps of moto 5.2.5 that herd-cfn's templates and commands hit, filled in the moto of this process.

Each module here is shaped like an upstream moto patch: its docstring names the gap, the AWS document
the fix follows, and its test (tests/emulator/) shows the documented behaviour. Each makes moto answer
what AWS documents, so the templates of output/ deploy unchanged to the emulator (stacks and StackSets
alike). Installed by :meth:`herd_cfn.emulator.server.LocalAws.start`, so the tests, the benchmark and
``--local`` run the same moto. Real AWS never sees any of this.

Types moto has no backend for are only recorded (``_model.RECORDED``); :func:`recorded_only_types`
names them.
"""

from __future__ import annotations

from importlib import import_module

from ._model import recorded_only_types

# One module per gap; each has install() (idempotent, changes moto in this process only).
FIXES = (
    "get_azs",
    "efs_attributes",
    "stackset_instance_names",
    "resources_before_exports",
    "equals_compares_strings",
    "secretsmanager_secret",
    "backup_resources",
    "acm_certificate",
    "elbv2_load_balancers",
    "servicediscovery_resources",
    "ec2_security_group_egress",
    "cloudwatch_alarm",
    "ecs_service_and_task_definition",
    "developer_tools",
    "recorded_only",
    "ecr_pull_through_cache",
    "resource_policies",
    "wafv2_resources",
    "elbv2_forward_config",
    "elbv2_modify_tls_listener",
    "logs_metric_filter",
    "yaml_condition_short_form",
    # herd-cfn local (the runbook on a running emulator)
    "stackset_instance_stack_id",
    "stackset_instance_updates",
    "stack_delete_order",
    "codeconnections_get_connection",
    "backup_restore_jobs",
    "ecs_run_task_fargate",
    "parameter_changes_through_conditions",
    "replacements_reach_dependents",
    "stackset_managed_execution",
    "stackset_operation_latency",
    "emulator_speed",
    # the push rehearsal (tests/emulator/test_push_rehearsal.py): blue/green on the emulator
    "no_value_in_lists",
    "elbv2_load_balancer_interfaces",
    "ecs_task_sets",
    "codedeploy_lifecycle_hook_status",
    "s3_bucket_policy_conditions",
)

_installed = False

__all__ = ["FIXES", "install", "recorded_only_types"]


def install() -> None:
    """Idempotent; changes moto's classes and functions in this process only."""
    global _installed
    if _installed:
        return
    import_module(f"{__name__}._model").install()
    for name in FIXES:
        import_module(f"{__name__}.{name}").install()
    _installed = True
