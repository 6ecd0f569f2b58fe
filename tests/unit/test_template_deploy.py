"""What template.yaml promises an operator: names, logs, alarms, CORS, outputs, the outbound event bus, builds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from localdev.aws import DeployedResource, Deployment
from localdev.template import Template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = Template.load()
RESOURCES = TEMPLATE.resources
FUNCTIONS = TEMPLATE.resources_of_type("AWS::Serverless::Function")
LAYERS = TEMPLATE.resources_of_type("AWS::Serverless::LayerVersion")
SLACK_FACING = {"FeedbackFunction", "SlackEventsFunction", "OAuthCallbackFunction"}
PORTAL_FACING = {"PortalApiFunction", "OAuthCallbackFunction"}  # routes behind the JWT authorizer
EVENT_PUBLISHERS = {"EngineEventsFunction"}


def props(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id].get("Properties") or {}


def resolver(**parameters: str) -> Deployment:
    """The localdev resolver, with made-up physical resources: enough to evaluate intrinsics."""
    values = {**TEMPLATE.parameter_defaults, "PortalUrl": "https://portal.example.com", "JwtIssuer": "https://i",
              "JwtAudience": "a", **parameters}  # fmt: skip
    deployment = Deployment(TEMPLATE, "stack", "us-east-1", "123456789012",
                            {n: TEMPLATE.parameters[n].coerce(v) for n, v in values.items()})  # fmt: skip
    for logical_id, resource in RESOURCES.items():
        if not resource["Type"].startswith("AWS::Serverless::"):
            attrs = {"Arn": f"arn:aws:x:us-east-1:123456789012:{logical_id}", "QueueName": logical_id}
            deployment.resources[logical_id] = DeployedResource(logical_id, resource["Type"], logical_id, attrs)
    return deployment


# ---------------------------------------------------------------------------------------------------- names, logs


def test_layer_names_are_unique_per_stack() -> None:
    for logical_id in LAYERS:
        name = props(logical_id).get("LayerName")
        assert isinstance(name, dict) and "${AWS::StackName}" in name["Fn::Sub"], logical_id
    assert len({props(lid)["LayerName"]["Fn::Sub"] for lid in LAYERS}) == len(LAYERS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_its_log_group_with_retention_before_it_exists(logical_id: str) -> None:
    deployment = resolver()
    function_name = deployment.function_name(logical_id)
    groups = {lid: res for lid, res in RESOURCES.items() if res["Type"] == "AWS::Logs::LogGroup"}
    mine = [lid for lid, res in groups.items()
            if deployment.resolve(res["Properties"]["LogGroupName"]) == f"/aws/lambda/{function_name}"]  # fmt: skip
    assert len(mine) == 1, f"{logical_id}: no log group /aws/lambda/{function_name}"
    group = props(mine[0])
    assert group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert group.get("KmsKeyId") == {"Fn::GetAtt": ["TokenKey", "Arn"]}
    depends = RESOURCES[logical_id].get("DependsOn")
    assert mine[0] in ([depends] if isinstance(depends, str) else depends or []), "created before the function"
    assert "${AWS::StackName}" in props(logical_id)["FunctionName"]["Fn::Sub"]


def test_log_retention_is_a_parameter_with_cloudwatch_values() -> None:
    parameter = TEMPLATE.document["Parameters"]["LogRetentionInDays"]
    assert parameter["Default"] in parameter["AllowedValues"] and 3653 in parameter["AllowedValues"]


def test_http_api_writes_a_json_access_log_to_its_log_group() -> None:
    settings = props("HttpApi")["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert {"requestId", "routeKey", "status", "integrationError"} <= set(fields)
    assert not any("header" in v or "querystring" in v.lower() for v in fields.values()), "no header or query"


# ---------------------------------------------------------------------------------------------------- IAM, env


def test_only_the_publishers_may_put_events_and_only_on_the_engine_bus() -> None:
    for logical_id, function in FUNCTIONS.items():
        statements = [s for p in props(logical_id).get("Policies") or [] if isinstance(p, dict)
                      for s in p.get("Statement", [])]  # fmt: skip
        put = [s for s in statements if "events:PutEvents" in str(s.get("Action"))]
        env = (function["Properties"].get("Environment") or {}).get("Variables") or {}
        if logical_id in EVENT_PUBLISHERS:
            assert [s["Resource"] for s in put] == [{"Fn::GetAtt": ["EngineEventBus", "Arn"]}], logical_id
            assert env["ENGINE_EVENT_BUS_NAME"] == {"Ref": "EngineEventBus"}
        else:
            assert not put and "ENGINE_EVENT_BUS_NAME" not in env, logical_id
        assert not any(p for p in props(logical_id).get("Policies") or [] if "EventBridgePutEventsPolicy" in p)


def test_the_engine_bus_is_named_after_the_stack() -> None:
    assert RESOURCES["EngineEventBus"]["Type"] == "AWS::Events::EventBus"
    assert resolver().resolve(props("EngineEventBus")["Name"]) == "stack-engine"


def test_portal_facing_functions_know_the_tenant_claim() -> None:
    assert TEMPLATE.parameters["JwtTenantClaim"].default == "tenant_id"
    for logical_id in FUNCTIONS:
        env = (props(logical_id).get("Environment") or {}).get("Variables") or {}
        assert ("JWT_TENANT_CLAIM" in env) == (logical_id in PORTAL_FACING), logical_id
    assert resolver(JwtTenantClaim="custom:tenant").function_env("PortalApiFunction")["JWT_TENANT_CLAIM"] == (
        "custom:tenant"
    )


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_memory_is_set_per_function_with_a_reason(logical_id: str) -> None:
    assert isinstance(props(logical_id).get("MemorySize"), int)
    text = (REPO / "template.yaml").read_text(encoding="utf-8")
    block = text.split(f"\n  {logical_id}:\n", 1)[1].split("\n  # ", 1)[0]
    assert re.search(r"MemorySize: \d+\s+#", block), f"{logical_id}: MemorySize needs its reason in a comment"


# ---------------------------------------------------------------------------------------------------- CORS


@pytest.mark.parametrize(("portal_url", "origin"), [
    ("https://portal.example.com", "https://portal.example.com"),
    ("https://portal.example.com/app/v2", "https://portal.example.com"),
    ("http://localhost:3002", "http://localhost:3002"),
    ("https://portal.example.com:8443/x", "https://portal.example.com:8443"),
])  # fmt: skip
def test_cors_allows_the_origin_of_portal_url(portal_url: str, origin: str) -> None:
    cors = resolver(PortalUrl=portal_url).resolve(props("HttpApi")["CorsConfiguration"])
    assert cors["AllowOrigins"] == [origin]
    assert "Retry-After" in cors["ExposeHeaders"]


# ---------------------------------------------------------------------------------------------------- alarms, outputs


def test_every_function_has_an_errors_alarm_notifying_the_topic() -> None:
    alarms = {lid: res["Properties"] for lid, res in RESOURCES.items() if res["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {a["Dimensions"][0]["Value"]["Ref"] for a in alarms.values()
               if a["Namespace"] == "AWS/Lambda" and a["MetricName"] == "Errors"}  # fmt: skip
    assert watched == set(FUNCTIONS)
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}],
                                                    {"Ref": "AWS::NoValue"}]}, logical_id  # fmt: skip


def test_queue_alarms_cover_dead_letters_the_fan_out_failures_and_the_investigation_age() -> None:
    alarms = [res["Properties"] for res in RESOURCES.values() if res["Type"] == "AWS::CloudWatch::Alarm"]
    by_queue = {(a["MetricName"], a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]): a for a in alarms
                if a["Namespace"] == "AWS/SQS"}  # fmt: skip
    visible = "ApproximateNumberOfMessagesVisible"
    for queue in ("InvestigationDeadLetterQueue", "DigestDeadLetterQueue", "DigestScheduleFailureQueue",
                  "EngineEventsFailureQueue"):
        assert (visible, queue) in by_queue
    age = by_queue[("ApproximateAgeOfOldestMessage", "InvestigationQueue")]
    assert age["Threshold"] == {"Ref": "InvestigationAgeAlarmSeconds"}
    assert TEMPLATE.parameters["InvestigationAgeAlarmSeconds"].default == 900


def test_the_fan_out_cannot_fail_silently() -> None:
    digest = props("DailyDigestFunction")
    on_failure = digest["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DigestScheduleFailureQueue", "Arn"]}}
    schedule = digest["Events"]["Daily"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DigestScheduleFailureQueue", "Arn"]}}
    policy = props("DigestScheduleFailureQueuePolicy")["PolicyDocument"]["Statement"][0]
    rule_arn = resolver().resolve(policy["Condition"]["ArnEquals"]["aws:SourceArn"])
    assert rule_arn.endswith(":rule/" + resolver().resolve(schedule["Name"]))


def test_the_outbox_publisher_cannot_lose_an_event_silently() -> None:
    assert props("SlackTable")["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    mapping = props("EngineEventsStream")
    assert mapping["FunctionName"] == {"Ref": "EngineEventsFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["SlackTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BisectBatchOnFunctionError"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON" and mapping["BatchSize"] <= 10  # one PutEvents
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["EngineEventsFailureQueue", "Arn"]}
    assert mapping["MaximumRetryAttempts"] > 0 and 0 < mapping["MaximumRecordAgeInSeconds"] <= 86400
    [pattern] = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OUTBOX#"}]}}}}
    # The mapping sends what it gives up on with the function's role.
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["EngineEventsFailureQueue", "QueueName"]}}} in (
        props("EngineEventsFunction")["Policies"])


def test_outputs_hold_what_the_runbook_and_the_engine_need() -> None:
    needed = {
        "EngineEventBusName", "EngineEventBusArn", "InvestigationQueueUrl", "InvestigationQueueArn",
        "InvestigationDeadLetterQueueUrl", "InvestigationDeadLetterQueueArn", "DigestQueueUrl", "DigestQueueArn",
        "DigestDeadLetterQueueUrl", "DigestDeadLetterQueueArn", "DigestScheduleFailureQueueUrl",
        "DigestScheduleFailureQueueArn", "DailyDigestFunctionName", "SlackCredentialsSecretArn", "ApiUrl",
        "EngineEventsFunctionName", "EngineEventsFailureQueueUrl", "EngineEventsFailureQueueArn",
    }  # fmt: skip
    assert needed <= set(TEMPLATE.outputs)
    runbook = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\(out (\w+)\)", runbook))
    assert len(used) >= 8, "the runbook reads the stack outputs with out NAME"
    for name in used:
        assert name in TEMPLATE.outputs, f"docs/runbook.md reads output {name}, which the template lacks"


# ---------------------------------------------------------------------------------------------------- SnapStart


def test_snapstart_is_opt_in_on_the_slack_facing_functions_behind_an_alias() -> None:
    assert TEMPLATE.parameters["EnableSnapStart"].default == "false"
    for logical_id in FUNCTIONS:
        p = props(logical_id)
        if logical_id in SLACK_FACING:
            assert p["SnapStart"] == {"Fn::If": ["SnapStartEnabled", {"ApplyOn": "PublishedVersions"},
                                                 {"Ref": "AWS::NoValue"}]}  # fmt: skip
            # HttpApi events invoke the alias; every property change (layers too) publishes a version.
            assert p["AutoPublishAlias"] == "live" and p["AutoPublishAliasAllProperties"] is True
        else:
            assert "SnapStart" not in p, logical_id
    assert all(props(lid)["PublishLambdaVersion"] is True for lid in LAYERS)


# ---------------------------------------------------------------------------------------------------- build


def test_every_built_resource_has_its_target_in_the_build_makefile() -> None:
    makefile = (REPO / "lambda-build" / "Makefile").read_text(encoding="utf-8")
    for logical_id, resource in {**FUNCTIONS, **LAYERS}.items():
        metadata = resource.get("Metadata") or {}
        assert metadata.get("BuildMethod") == "makefile", logical_id
        assert metadata.get("ContextPath") == "lambda-build", logical_id
        assert re.search(rf"^build-{logical_id}:", makefile, re.MULTILINE), logical_id
    for logical_id, function in FUNCTIONS.items():
        directory = Path(function["Properties"]["CodeUri"]).name
        target = makefile.split(f"build-{logical_id}:", 1)[1].split("\n")[1]
        assert f"$(call function,{directory})" in target, (logical_id, target)
