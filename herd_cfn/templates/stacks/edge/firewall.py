"""AWS WAF on the ALB, when ``edge.waf`` is ``count`` or ``block`` (``off``: nothing here exists).

Rules, cheapest first: Amazon's IP reputation list, a rate limit per client IP, the known-bad-inputs
rule group (Log4j, Java deserialisation…) and the core rule set. In ``count`` mode every rule only
counts and labels what it would block; ``block`` makes them act. Nothing else changes between the two,
so moving from one to the other after reading the logs is a parameter change.

What OpenRemote's own clients send legitimately, and which core rules would block it:

- ``/api/{realm}/…`` (the UI's REST client, devices and scripts): assets, rulesets (Groovy and
  JavaScript source), dashboards and map settings are JSON bodies over 8 KB (SizeRestrictions_BODY),
  agent configurations carry URLs with IP addresses (GenericRFI_BODY) and rule source trips
  CrossSiteScripting_BODY; small HTTP clients on devices send no User-Agent (NoUserAgent_HEADER).
- ``/websocket/events?Realm=…&Authorization=Bearer <JWT>`` (the UI's event provider and edge
  gateways): the token in the query string is longer than 2 KB (SizeRestrictions_QUERYSTRING), and
  Netty's handshake (gateways) sends no User-Agent.
- ``/auth/…`` (Keycloak): the admin console posts realm JSON over 8 KB, and OAuth redirects carry a
  URL in ``redirect_uri`` (GenericRFI_QUERYARGUMENTS).

Those rules therefore only count inside the rule group, and a rule after it blocks what they labelled
everywhere except under those three paths (the label-match pattern AWS documents for scoping down a
managed rule). MQTT goes through the NLB, which WAF does not cover.
"""

from __future__ import annotations

from troposphere import GetAtt, If, Ref, Sub, Template, logs, wafv2

from herd_cfn.templates.helpers import RETAIN, E, skip

CORE_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
# Core rules that OpenRemote's clients trip (module docstring), and the labels they leave.
APP_TRIPPED_RULES = {
    "SizeRestrictions_BODY": "SizeRestrictions_Body",
    "SizeRestrictions_QUERYSTRING": "SizeRestrictions_QueryString",
    "GenericRFI_BODY": "GenericRFI_Body",
    "GenericRFI_QUERYARGUMENTS": "GenericRFI_QueryArguments",
    "CrossSiteScripting_BODY": "CrossSiteScripting_Body",
    "NoUserAgent_HEADER": "NoUserAgent_Header",
}
CORE_LABEL_PREFIX = "awswaf:managed:aws:core-rule-set:"
APP_PATHS = ("/api/", "/websocket/", "/auth/")
# Requests per client IP in any 5 minutes: a browser on the map (tiles) or a site of devices behind one
# NAT stays far below; a flood does not.
RATE_LIMIT = 6000
RATE_WINDOW_SECONDS = 300
REDACTED_HEADERS = ("authorization", "cookie")  # tokens and Keycloak's session cookies stay out of the logs


def _visible(metric: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(SampledRequestsEnabled=True, CloudWatchMetricsEnabled=True,
                                  MetricName=f"{E.WEB_ACL_NAME}-{metric}")


def _acting() -> If:
    """A rule's action: block in ``block`` mode, count in ``count`` mode."""
    return If(E.WAF_BLOCKS, {"Block": {}}, {"Count": {}})


def _group_acting() -> If:
    """A rule group's override: its own actions (None) in ``block`` mode, count in ``count`` mode."""
    return If(E.WAF_BLOCKS, {"None": {}}, {"Count": {}})


def _managed(name: str, priority: int, **statement: object) -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name=name, Priority=priority, OverrideAction=_group_acting(), VisibilityConfig=_visible(name),
        Statement=wafv2.Statement(ManagedRuleGroupStatement=wafv2.ManagedRuleGroupStatement(
            VendorName="AWS", Name=name, **statement)))


def _starts_with(path: str) -> wafv2.Statement:
    return wafv2.Statement(ByteMatchStatement=wafv2.ByteMatchStatement(
        FieldToMatch=wafv2.FieldToMatch(UriPath={}), PositionalConstraint="STARTS_WITH", SearchString=path,
        TextTransformations=[wafv2.TextTransformation(Priority=0, Type="NONE")]))


def _core_outside_app_paths(priority: int) -> wafv2.WebACLRule:
    labelled = wafv2.Statement(OrStatement=wafv2.OrStatement(Statements=[
        wafv2.Statement(LabelMatchStatement=wafv2.LabelMatchStatement(Scope="LABEL", Key=CORE_LABEL_PREFIX + label))
        for label in APP_TRIPPED_RULES.values()]))
    app_paths = wafv2.Statement(OrStatement=wafv2.OrStatement(Statements=[_starts_with(p) for p in APP_PATHS]))
    name = "CoreRuleSetOutsideAppPaths"
    return wafv2.WebACLRule(
        Name=name, Priority=priority, Action=_acting(), VisibilityConfig=_visible(name),
        Statement=wafv2.Statement(AndStatement=wafv2.AndStatement(Statements=[
            labelled, wafv2.Statement(NotStatement=wafv2.NotStatement(Statement=app_paths))])))


def _rate_limit(priority: int) -> wafv2.WebACLRule:
    name = "RatePerClientIp"
    return wafv2.WebACLRule(
        Name=name, Priority=priority, Action=_acting(), VisibilityConfig=_visible(name),
        Statement=wafv2.Statement(RateBasedStatement=wafv2.RateBasedStatement(
            AggregateKeyType="IP", Limit=RATE_LIMIT, EvaluationWindowSec=RATE_WINDOW_SECONDS)))


def rules() -> list[wafv2.WebACLRule]:
    return [
        _managed(IP_REPUTATION, 0),
        _rate_limit(1),
        _managed(KNOWN_BAD_INPUTS, 2),
        _managed(CORE_RULE_SET, 3, RuleActionOverrides=[
            wafv2.RuleActionOverride(Name=rule, ActionToUse=wafv2.RuleAction(Count=wafv2.CountAction()))
            for rule in APP_TRIPPED_RULES]),
        _core_outside_app_paths(4),
    ]


def build(t: Template) -> None:
    on = {"Condition": E.HAS_WAF}
    t.add_resource(wafv2.WebACL(
        E.WEB_ACL, **on, Name=E.WEB_ACL_NAME, Scope="REGIONAL",
        DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
        Description="herd ALB - AWS managed rules and a rate limit, see edge.waf",
        Rules=rules(), VisibilityConfig=_visible("all"),
        Metadata=skip(("CKV_AWS_192", "Log4JRCE is in the known-bad-inputs group, which blocks in edge.waf=block; "
                                      "count mode only counts, by design, until the logs were read")),
    ))
    t.add_resource(wafv2.WebACLAssociation(
        E.WEB_ACL_ASSOCIATION, **on, ResourceArn=Ref(E.ALB), WebACLArn=GetAtt(E.WEB_ACL, "Arn")))
    t.add_resource(logs.LogGroup(
        E.WAF_LOG_GROUP, **on, **RETAIN, LogGroupName=E.WAF_LOG_GROUP_NAME, RetentionInDays=Ref(E.WAF_LOG_RETENTION),
        Metadata=skip(("CKV_AWS_158", "Tokens and cookies are redacted before WAF logs; encrypted with an "
                                      "AWS-owned key, not the data stack's log key: edge does not wait for data"))))
    t.add_resource(wafv2.LoggingConfiguration(
        E.WAF_LOGGING, **on, ResourceArn=GetAtt(E.WEB_ACL, "Arn"),
        # WAF wants the group's ARN without the ":*" that GetAtt Arn ends with.
        LogDestinationConfigs=[Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                   "${%s}" % E.WAF_LOG_GROUP)],
        # The websocket's token travels in the query string.
        RedactedFields=[
            *(wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name=header))
              for header in REDACTED_HEADERS),
            wafv2.LoggingConfigurationFieldToMatch(QueryString={})],
    ))
