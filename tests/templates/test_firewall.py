"""AWS WAF on the ALB (edge stack): only under its condition, count or block per environment, and the
paths OpenRemote's own clients use kept clear of the core rules they trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from herd_cfn import names
from herd_cfn.build.evaluate import Evaluated
from herd_cfn.templates import registry
from herd_cfn.templates.registry import load_project
from herd_cfn.templates.stacks.edge import firewall, load_balancers
from tests.conftest import ROOT
from tests.template_support import parameter_values, props

E = names.Edge
WAF_RESOURCES = {E.WEB_ACL, E.WEB_ACL_ASSOCIATION, E.WAF_LOG_GROUP, E.WAF_LOGGING}


@pytest.fixture(scope="module")
def template() -> dict:
    return registry.get(names.EDGE).template_dict()


def _resources(template: dict, env: str, **overrides: str) -> dict:
    return Evaluated(template, parameter_values(names.EDGE, env, **overrides)).resources()


def _rules(resources: dict) -> dict[str, dict]:
    return {rule["Name"]: rule for rule in resources[E.WEB_ACL]["Properties"]["Rules"]}


def test_every_firewall_resource_is_under_the_condition(template):
    waf = {k for k, v in template["Resources"].items() if v["Type"].startswith("AWS::WAFv2::")} | {E.WAF_LOG_GROUP}
    assert waf == WAF_RESOURCES
    for name in waf:
        assert template["Resources"][name]["Condition"] == E.HAS_WAF, name
    assert template["Conditions"][E.HAS_WAF] == {"Fn::Not": [{"Fn::Equals": [{"Ref": E.WAF_MODE}, "off"]}]}
    assert template["Conditions"][E.WAF_BLOCKS] == {"Fn::Equals": [{"Ref": E.WAF_MODE}, "block"]}
    assert template["Parameters"][E.WAF_MODE]["AllowedValues"] == ["off", "count", "block"]


def test_off_in_dev_count_in_prod(template):
    assert parameter_values(names.EDGE, "dev")[E.WAF_MODE] == "off"
    assert parameter_values(names.EDGE, "prod")[E.WAF_MODE] == "count"
    assert not WAF_RESOURCES & set(_resources(template, "dev"))
    assert set(_resources(template, "prod")) >= WAF_RESOURCES


def test_without_the_key_production_decides():
    project = load_project(ROOT / "parameters")
    stack = registry.get(names.EDGE)
    for env, expected in (("dev", "off"), ("prod", "count")):
        environment = project.environment(env)
        edge = environment.edge.model_copy(update={"waf": None})
        unset = dataclasses.replace(environment, settings=environment.settings.model_copy(update={"edge": edge}))
        assert stack.parameter_values(unset)[E.WAF_MODE] == expected


@pytest.mark.parametrize(("mode", "group", "action"), [("count", {"Count": {}}, {"Count": {}}),
                                                       ("block", {"None": {}}, {"Block": {}})])
def test_count_and_block_switch_every_rule(template, mode, group, action):
    rules = _rules(_resources(template, "prod", **{E.WAF_MODE: mode}))
    assert list(rules) == [firewall.IP_REPUTATION, "RatePerClientIp", firewall.KNOWN_BAD_INPUTS,
                           firewall.CORE_RULE_SET, "CoreRuleSetOutsideAppPaths"]
    for name, rule in rules.items():
        if "ManagedRuleGroupStatement" in rule["Statement"]:
            assert rule["OverrideAction"] == group and "Action" not in rule, name
        else:
            assert rule["Action"] == action and "OverrideAction" not in rule, name
    assert [rule["Priority"] for rule in rules.values()] == list(range(5))


def test_the_rules_openremote_trips_count_in_the_group_and_block_outside_its_paths(template):
    rules = _rules(_resources(template, "prod", **{E.WAF_MODE: "block"}))
    core = rules[firewall.CORE_RULE_SET]["Statement"]["ManagedRuleGroupStatement"]
    assert (core["VendorName"], core["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    assert {o["Name"]: o["ActionToUse"] for o in core["RuleActionOverrides"]} == {
        rule: {"Count": {}} for rule in ("SizeRestrictions_BODY", "SizeRestrictions_QUERYSTRING", "GenericRFI_BODY",
                                         "GenericRFI_QUERYARGUMENTS", "CrossSiteScripting_BODY", "NoUserAgent_HEADER")}
    labelled, not_app = rules["CoreRuleSetOutsideAppPaths"]["Statement"]["AndStatement"]["Statements"]
    labels = {s["LabelMatchStatement"]["Key"] for s in labelled["OrStatement"]["Statements"]}
    # Each counted rule's label (as AWS documents them: awswaf:managed:aws:core-rule-set:<Rule_Name>).
    assert labels == {"awswaf:managed:aws:core-rule-set:" + label for label in (
        "SizeRestrictions_Body", "SizeRestrictions_QueryString", "GenericRFI_Body", "GenericRFI_QueryArguments",
        "CrossSiteScripting_Body", "NoUserAgent_Header")}
    paths = [s["ByteMatchStatement"] for s in not_app["NotStatement"]["Statement"]["OrStatement"]["Statements"]]
    assert {(p["SearchString"], p["PositionalConstraint"], json.dumps(p["FieldToMatch"])) for p in paths} == {
        (path, "STARTS_WITH", '{"UriPath": {}}') for path in ("/api/", "/websocket/", "/auth/")}


def test_the_paths_are_those_of_openremotes_clients():
    """OpenRemote 1.28.1: the UI's REST client uses <managerUrl>/api/<realm>/ (core/src/index.ts
    getApiBaseUrl), its event provider and edge gateways <managerUrl>/websocket/events?Realm=…&
    Authorization=Bearer… (core/src/event.ts, GatewayClientConnector), Keycloak answers under /auth."""
    def exempt(path: str) -> bool:
        return path.startswith(firewall.APP_PATHS)

    for path in ("/api/master/asset", "/api/master/rules/realm", "/api/smartcity/map", names.Traffic.HEALTH_PATH,
                 "/websocket/events", "/auth/realms/master/protocol/openid-connect/token",
                 "/auth/admin/realms/master"):
        assert exempt(path), path
    # Keycloak's listener rule: everything under /auth/ (a bare /auth is a redirect, no body, no query).
    assert all(p == "/auth" or exempt(p.rstrip("*")) for p in load_balancers.AUTH_PATHS)
    for path in ("/", "/manager/", "/swagger/index.html", "/apidocs", "/authx"):
        assert not exempt(path), path


def test_other_managed_groups_keep_every_rule(template):
    rules = _rules(_resources(template, "prod", **{E.WAF_MODE: "block"}))
    for name in (firewall.KNOWN_BAD_INPUTS, firewall.IP_REPUTATION):
        statement = rules[name]["Statement"]["ManagedRuleGroupStatement"]
        assert set(statement) == {"VendorName", "Name"}, name  # Log4JRCE and the rest as AWS ships them
    rate = rules["RatePerClientIp"]["Statement"]["RateBasedStatement"]
    assert rate == {"AggregateKeyType": "IP", "Limit": 6000, "EvaluationWindowSec": 300}


def test_capacity_stays_in_the_included_1500_wcu():
    # AWS's published capacities: CRS 700, known bad inputs 200, IP reputation 25; a rate rule 2;
    # label matches 1 each, a STARTS_WITH byte match 2 each (plus logical statements, free).
    capacity = 700 + 200 + 25 + 2 + len(firewall.APP_TRIPPED_RULES) + 2 * len(firewall.APP_PATHS)
    assert capacity <= 1500


def test_logs_to_an_aws_waf_logs_group_without_tokens(template):
    group = props(template, E.WAF_LOG_GROUP)
    assert group["LogGroupName"].startswith("aws-waf-logs-")
    assert group["RetentionInDays"] == {"Ref": E.WAF_LOG_RETENTION}
    assert parameter_values(names.EDGE, "prod")[E.WAF_LOG_RETENTION] == "90"
    logging = props(template, E.WAF_LOGGING)
    assert logging["ResourceArn"] == {"Fn::GetAtt": [E.WEB_ACL, "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    assert destination["Fn::Sub"].endswith(":log-group:${%s}" % E.WAF_LOG_GROUP)  # no ":*"
    assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}},
                                         {"SingleHeader": {"Name": "cookie"}}, {"QueryString": {}}]


def test_the_acl_guards_the_alb(template):
    association = props(template, E.WEB_ACL_ASSOCIATION)
    assert association == {"ResourceArn": {"Ref": E.ALB}, "WebACLArn": {"Fn::GetAtt": [E.WEB_ACL, "Arn"]}}
    acl = props(template, E.WEB_ACL)
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
