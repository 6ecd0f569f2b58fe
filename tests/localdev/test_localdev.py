"""The local sandbox is built from template.yaml: what it creates and serves must be what the template says."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import socket
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from localdev.aws import Deployment, deploy
from localdev.gateway import LocalGateway, build_http_event
from localdev.handlers import HandlerNotFound, LocalFunctions, apply_env, load_handler
from localdev.lambda_context import LambdaContext
from localdev.sqs_pump import SqsPump, failed_message_ids, schedule_event, scheduled_invocation_event
from localdev.stream_pump import matches
from localdev.template import SqsEventSource, Template, TemplateError, load_yaml

TEMPLATE = Template.load()
PARAMETERS = {
    "PortalUrl": "https://portal.example.com",
    "JwtIssuer": "https://idp.example.com/",
    "JwtAudience": "sre-portal,sre-cli",
}
LOCAL_CREDENTIALS = {"client_id": "1.2", "client_secret": "local-client-secret", "signing_secret": "local-signing"}


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def deployment(fake_credentials: None) -> Iterator[Deployment]:
    with mock_aws():
        yield deploy(TEMPLATE, parameters=PARAMETERS, secret_values={"SlackCredentials": LOCAL_CREDENTIALS})


def write_function(root: Path, directory: str, source: str) -> None:
    folder = root / directory
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(textwrap.dedent(source), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- template


def test_short_tags_load_as_the_long_form_cloudformation_uses() -> None:
    document = load_yaml(
        textwrap.dedent(
            """
            A: !Ref Table
            B: !GetAtt Queue.Arn
            C: !GetAtt [Queue, QueueName]
            D: !Sub "arn:${AWS::Partition}:x"
            E: !Sub ["${X}-y", {X: !Ref Z}]
            F: !Join [",", [a, !Ref B]]
            G: !If [IsProd, !Select [0, !Split [",", "p,q"]], !Base64 text]
            H: !Equals [!FindInMap [M, k, v], !ImportValue Exported]
            I: !Not [!Condition IsProd]
            J: !GetAZs ""
            K: 2010-09-09
            """
        )
    )
    assert document == {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "D": {"Fn::Sub": "arn:${AWS::Partition}:x"},
        "E": {"Fn::Sub": ["${X}-y", {"X": {"Ref": "Z"}}]},
        "F": {"Fn::Join": [",", ["a", {"Ref": "B"}]]},
        "G": {"Fn::If": ["IsProd", {"Fn::Select": [0, {"Fn::Split": [",", "p,q"]}]}, {"Fn::Base64": "text"}]},
        "H": {"Fn::Equals": [{"Fn::FindInMap": ["M", "k", "v"]}, {"Fn::ImportValue": "Exported"}]},
        "I": {"Fn::Not": [{"Condition": "IsProd"}]},
        "J": {"Fn::GetAZs": ""},
        "K": "2010-09-09",
    }


def test_function_specs_merge_globals_and_read_every_event_kind() -> None:
    functions = TEMPLATE.functions()
    poster = functions["PostInvestigationFunction"]
    assert (poster.timeout, poster.memory, poster.handler) == (30, 512, "app.lambda_handler")
    assert poster.directory_name == "post_investigation"
    (source,) = poster.sqs_events
    assert (source.queue, source.batch_size, source.reports_batch_item_failures) == (
        "InvestigationQueue", 10, True,
    )  # fmt: skip
    assert poster.env["TABLE_NAME"] == {"Ref": "SlackTable"}  # from Globals
    assert poster.env["DEAD_LETTER_QUEUE_URL"] == {"Ref": "InvestigationDeadLetterQueue"}  # its own

    routes = {route.route_key: route for route in functions["OAuthCallbackFunction"].http_routes}
    assert routes["POST /slack/install"].needs_authorizer
    assert not routes["GET /slack/oauth/callback"].needs_authorizer
    assert [s.expression for s in functions["DailyDigestFunction"].schedules] == ["cron(0 9 * * ? *)"]
    assert TEMPLATE.parameters["PortalUrl"].required
    assert TEMPLATE.parameters["LogLevel"].default == "INFO"


# ---------------------------------------------------------------------------------------------------- deploy


def test_tables_have_the_keys_indexes_and_ttl_of_the_template(deployment: Deployment) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    tables = TEMPLATE.resources_of_type("AWS::DynamoDB::Table")
    assert tables, "the template declares tables"
    for logical_id, resource in tables.items():
        props = resource["Properties"]
        table = dynamodb.describe_table(TableName=deployment.ref(logical_id))["Table"]
        assert table["KeySchema"] == props["KeySchema"]
        indexes = {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"]: i["KeySchema"] for i in props.get("GlobalSecondaryIndexes", [])}
        ttl = dynamodb.describe_time_to_live(TableName=deployment.ref(logical_id))["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]
    assert "ByTeam" in {i["IndexName"] for i in TEMPLATE.resource("SlackTable")["Properties"]["GlobalSecondaryIndexes"]}


def test_queues_redrive_to_their_dead_letter_queue(deployment: Deployment) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    for logical_id, resource in TEMPLATE.resources_of_type("AWS::SQS::Queue").items():
        props = resource["Properties"]
        attributes = sqs.get_queue_attributes(QueueUrl=deployment.queue_url(logical_id), AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["QueueArn"] == deployment.queue_arn(logical_id)
        assert attributes["QueueArn"].endswith(f":{deployment.stack_name}-{logical_id}")
        if "VisibilityTimeout" in props:
            assert int(attributes["VisibilityTimeout"]) == props["VisibilityTimeout"]
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"] == deployment.queue_arn(dlq)
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]


def test_key_alias_and_secret_exist_with_the_given_credentials(deployment: Deployment) -> None:
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = deployment.ref("TokenKey")
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases[f"alias/{deployment.stack_name}-slack-tokens"] == key_id
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
        SecretId=deployment.ref("SlackCredentials")
    )
    assert json.loads(secret["SecretString"]) == LOCAL_CREDENTIALS


def test_secret_keeps_the_template_value_without_an_override(fake_credentials: None) -> None:
    with mock_aws():
        deployment = deploy(TEMPLATE, parameters=PARAMETERS)
        secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(
            SecretId=deployment.ref("SlackCredentials")
        )
    template_value = TEMPLATE.resource("SlackCredentials")["Properties"]["SecretString"]
    assert json.loads(secret["SecretString"]) == json.loads(template_value)


def test_every_function_environment_is_strings_that_reach_real_resources(deployment: Deployment) -> None:
    for logical_id, spec in TEMPLATE.functions().items():
        env = deployment.function_env(logical_id)
        assert set(env) == set(spec.env), logical_id
        assert all(isinstance(value, str) for value in env.values()), env
        assert not any("${" in value or "{'" in value for value in env.values()), env

    portal = deployment.function_env("PortalApiFunction")
    boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=portal["TABLE_NAME"])
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=portal["INVESTIGATION_QUEUE_URL"], MessageBody="{}"
    )
    boto3.client("kms", region_name="us-east-1").encrypt(KeyId=portal["KMS_KEY_ID"], Plaintext=b"x")
    boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId=portal["SLACK_SECRET_ARN"])
    assert portal["PORTAL_URL"] == PARAMETERS["PortalUrl"]
    assert portal["POWERTOOLS_LOG_LEVEL"] == "INFO"
    digest = deployment.function_env("DailyDigestFunction")
    assert digest["DIGEST_QUEUE_URL"] == deployment.queue_url("DigestQueue")


def test_outputs_resolve_with_pseudo_parameters(deployment: Deployment) -> None:
    outputs = deployment.outputs()
    assert outputs["SlackEventsUrl"] == "https://local.execute-api.us-east-1.amazonaws.com/slack/events"
    assert outputs["InvestigationQueueUrl"] == deployment.queue_url("InvestigationQueue")


def test_parameters_are_validated_like_cloudformation(fake_credentials: None) -> None:
    with mock_aws():
        with pytest.raises(TemplateError, match="PortalUrl"):
            deploy(TEMPLATE, parameters={**PARAMETERS, "PortalUrl": "https://portal.example.com/"})
        with pytest.raises(TemplateError, match="JwtIssuer"):
            deploy(TEMPLATE, parameters={"PortalUrl": "https://p.example.com", "JwtAudience": "a"})
        with pytest.raises(TemplateError, match="LogLevel"):
            deploy(TEMPLATE, parameters={**PARAMETERS, "LogLevel": "TRACE"})


def test_intrinsic_functions_resolve_against_created_resources(fake_credentials: None) -> None:
    template = Template(
        load_yaml(
            textwrap.dedent(
                """
                Parameters:
                  Env: {Type: String, Default: prod}
                  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
                Conditions:
                  IsProd: !Equals [!Ref Env, prod]
                Resources:
                  Dlq: {Type: AWS::SQS::Queue}
                  Queue:
                    Type: AWS::SQS::Queue
                    Properties:
                      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5}
                  Fn:
                    Type: AWS::Serverless::Function
                    Properties:
                      CodeUri: functions/fn/
                      Handler: app.lambda_handler
                      Environment:
                        Variables:
                          SUB: !Sub "${AWS::StackName}/${AWS::Region}/${AWS::AccountId}/${Queue.QueueName}/${!Literal}"
                          SUB_LIST: !Sub ["${A}-${Env}", {A: !Select [1, !Ref Names]}]
                          JOINED: !Join ["|", !Split [",", "x,y"]]
                          CHOSEN: !If [IsProd, chosen, other]
                          NEGATED: !If [IsProd, !Ref AWS::NoValue, present]
                          FLAG: true
                          COUNT: 3
                """
            )
        )
    )
    with mock_aws():
        deployment = deploy(template, parameters={}, stack_name="demo")
        env = deployment.function_env("Fn")
    assert env == {
        "SUB": f"demo/us-east-1/{deployment.account_id}/demo-Queue/${{Literal}}",
        "SUB_LIST": "b-prod",
        "JOINED": "x|y",
        "CHOSEN": "chosen",
        "FLAG": "true",
        "COUNT": "3",
    }
    assert deployment.ref("Fn") == "demo-Fn"
    assert list(deployment.resources) == ["Dlq", "Queue"]  # the dead-letter queue first


def test_deploy_against_a_moto_server_through_aws_endpoint_url(
    fake_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        first = deploy(TEMPLATE, parameters=PARAMETERS)
        again = deploy(TEMPLATE, parameters=PARAMETERS)  # same server: reuses what exists
        assert {k: r.ref for k, r in again.resources.items()} == {k: r.ref for k, r in first.resources.items()}
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        assert deployment_table_names(first) <= set(dynamodb.list_tables()["TableNames"])
        url = first.queue_url("InvestigationQueue")
        assert url.startswith(f"http://{host}:{port}/")
        sqs = boto3.client("sqs", region_name="us-east-1")
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
    finally:
        server.stop()


def deployment_table_names(deployment: Deployment) -> set[str]:
    return {str(deployment.ref(lid)) for lid in TEMPLATE.resources_of_type("AWS::DynamoDB::Table")}


# ---------------------------------------------------------------------------------------------------- handlers


def test_functions_with_the_same_module_name_do_not_collide(tmp_path: Path) -> None:
    write_function(tmp_path, "one", "NAME = 'one'\ndef lambda_handler(event, context):\n    return NAME\n")
    write_function(tmp_path, "two", "NAME = 'two'\ndef lambda_handler(event, context):\n    return NAME\n")
    one = load_handler("functions/one/", functions_root=tmp_path)
    two = load_handler("two", functions_root=tmp_path)
    assert (one({}, None), two({}, None)) == ("one", "two")
    assert load_handler("one", functions_root=tmp_path) is one  # cached


def test_reload_runs_module_code_again(tmp_path: Path) -> None:
    write_function(tmp_path, "env", "import os\nSEEN = os.environ.get('LOCALDEV_TEST_VALUE')\n"
                                    "def lambda_handler(event, context):\n    return SEEN\n")  # fmt: skip
    with apply_env({"LOCALDEV_TEST_VALUE": "first"}):
        assert load_handler("env", functions_root=tmp_path)({}, None) == "first"
    with apply_env({"LOCALDEV_TEST_VALUE": "second"}):
        assert load_handler("env", functions_root=tmp_path)({}, None) == "first"
        assert load_handler("env", functions_root=tmp_path, reload=True)({}, None) == "second"


def test_missing_handler_is_reported_when_invoked(tmp_path: Path) -> None:
    with pytest.raises(HandlerNotFound, match=r"app\.py"):
        load_handler("not_written_yet", functions_root=tmp_path)


def test_apply_env_restores_previous_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALDEV_KEEP", "before")
    monkeypatch.delenv("LOCALDEV_NEW", raising=False)
    with apply_env({"LOCALDEV_KEEP": "during", "LOCALDEV_NEW": "x"}):
        import os

        assert (os.environ["LOCALDEV_KEEP"], os.environ["LOCALDEV_NEW"]) == ("during", "x")
    assert os.environ["LOCALDEV_KEEP"] == "before"
    assert "LOCALDEV_NEW" not in os.environ


def test_lambda_context_counts_down_from_the_timeout() -> None:
    now = [100.0]
    context = LambdaContext(
        function_name="f", memory_limit_in_mb=512, invoked_function_arn="arn", timeout_seconds=30,
        clock=lambda: now[0],
    )  # fmt: skip
    assert context.get_remaining_time_in_millis() == 30_000
    now[0] += 29.5
    assert context.get_remaining_time_in_millis() == 500
    now[0] += 10
    assert context.get_remaining_time_in_millis() == 0
    other = LambdaContext(function_name="f", memory_limit_in_mb=512, invoked_function_arn="arn", timeout_seconds=1)
    assert other.aws_request_id != context.aws_request_id


# ---------------------------------------------------------------------------------------------------- gateway

ECHO_HANDLER = """
import base64, os

def lambda_handler(event, context):
    if event["rawQueryString"] == "plain":
        return {"inferred": True}
    if event["rawQueryString"] == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
    seen = {
        "event": event,
        "queue_url": os.environ.get("INVESTIGATION_QUEUE_URL"),
        "function_name": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
    }
    import json
    return {"statusCode": 201, "headers": {"content-type": "application/json", "x-served-by": "portal"},
            "cookies": ["a=1; Path=/; HttpOnly", "b=2; Secure"], "body": json.dumps(seen)}
"""


@pytest.fixture
def gateway(deployment: Deployment, tmp_path: Path) -> Iterator[LocalGateway]:
    write_function(tmp_path, "portal_api", ECHO_HANDLER)
    write_function(tmp_path, "feedback", ECHO_HANDLER)
    with LocalGateway(TEMPLATE, deployment, "127.0.0.1", 0, functions_root=tmp_path, quiet=True) as running:
        yield running


def request(
    gateway: LocalGateway, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def test_gateway_builds_a_v2_event_and_returns_the_full_response(gateway: LocalGateway, deployment: Deployment) -> None:
    status, headers, body = request(
        gateway, "POST", "/clusters/prod-us%2Deast/test?x=1&x=2&y=",
        body=b'{"hello": "world"}',
        headers={"Content-Type": "application/json", "Cookie": "sid=abc; theme=dark", "X-Custom": "v"},
    )  # fmt: skip
    assert status == 201
    assert ("x-served-by", "portal") in headers
    assert [value for name, value in headers if name.lower() == "set-cookie"] == [
        "a=1; Path=/; HttpOnly", "b=2; Secure",
    ]  # fmt: skip
    seen = json.loads(body)
    event = seen["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /clusters/{cluster}/test"
    assert event["rawPath"] == "/clusters/prod-us%2Deast/test"
    assert event["pathParameters"] == {"cluster": "prod-us-east"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["sid=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "v"
    forwarded = {k: event["headers"][k] for k in ("x-forwarded-proto", "x-forwarded-port", "x-forwarded-for")}
    assert forwarded == {
        "x-forwarded-proto": "http",
        "x-forwarded-port": str(gateway.port),
        "x-forwarded-for": "127.0.0.1",
    }
    assert (event["body"], event["isBase64Encoded"]) == ('{"hello": "world"}', False)
    context = event["requestContext"]
    assert context["authorizer"]["jwt"]["claims"] == {"tenant_id": "t_local", "sub": "dev-user"}
    assert context["http"]["method"] == "POST"
    assert context["domainName"] == f"127.0.0.1:{gateway.port}"
    assert context["accountId"] == deployment.account_id
    assert seen["queue_url"] == deployment.queue_url("InvestigationQueue")
    assert seen["function_name"] == deployment.function_name("PortalApiFunction")
    assert 0 < seen["remaining"] <= TEMPLATE.function("PortalApiFunction").timeout * 1000


def test_dev_tenant_header_switches_the_tenant_claim(gateway: LocalGateway) -> None:
    _, _, body = request(gateway, "GET", "/routing", headers={"X-Dev-Tenant": "t_other"})
    assert json.loads(body)["event"]["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"] == "t_other"


def test_slack_form_posts_arrive_base64_encoded_without_authorizer(gateway: LocalGateway) -> None:
    form = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    _, _, body = request(
        gateway, "POST", "/slack/interactions", body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == form
    assert "authorizer" not in event["requestContext"]


def test_inferred_and_binary_responses(gateway: LocalGateway) -> None:
    status, headers, body = request(gateway, "GET", "/routing?plain")
    assert (status, json.loads(body)) == (200, {"inferred": True})
    assert ("content-type", "application/json") in headers
    status, headers, body = request(gateway, "GET", "/routing?binary")
    assert (status, body) == (200, bytes(range(256)))


def test_unknown_routes_answer_404_like_api_gateway(gateway: LocalGateway) -> None:
    for method, path in [("GET", "/nope"), ("POST", "/routing"), ("GET", "/clusters/a/b/test")]:
        status, _, body = request(gateway, method, path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"}), (method, path)


def test_handler_errors_answer_500_without_leaking(gateway: LocalGateway, capsys: pytest.CaptureFixture[str]) -> None:
    root = gateway.functions.functions_root
    assert root is not None
    write_function(root, "slack_events", "def lambda_handler(event, context):\n"
                                         "    raise RuntimeError('secret detail that must not leak')\n")  # fmt: skip
    status, _, body = request(
        gateway, "POST", "/slack/events", body=b"{}", headers={"Content-Type": "application/json"}
    )
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert "secret detail" in capsys.readouterr().err  # on the console, like CloudWatch Logs


def test_a_function_not_written_yet_answers_500(gateway: LocalGateway) -> None:
    status, _, body = request(gateway, "GET", "/slack/oauth/callback?code=x")
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_build_http_event_is_accepted_by_powertools() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

    app = APIGatewayHttpResolver()

    @app.post("/clusters/<cluster>/test")
    def test_cluster(cluster: str) -> dict[str, Any]:
        event = app.current_event
        return {
            "cluster": cluster,
            "tenant": event.request_context.authorizer.jwt_claim["tenant_id"],
            "verbose": event.get_query_string_value("verbose"),
            "cookies": event.cookies,
            "body": event.json_body,
        }

    @app.post("/slack/interactions")
    def interactions() -> dict[str, Any]:
        return {"raw": app.current_event.decoded_body}

    event = build_http_event(
        "POST", "/clusters/prod/test?verbose=1", body={"note": "hi"}, cookies=["sid=1"],
        claims={"tenant_id": "t_acme"}, path_parameters={"cluster": "prod"},
        route_key="POST /clusters/{cluster}/test",
    )  # fmt: skip
    APIGatewayProxyEventV2Model.model_validate(event)
    response = app.resolve(event, LambdaContext(function_name="f", memory_limit_in_mb=128,
                                                invoked_function_arn="arn", timeout_seconds=3))  # fmt: skip
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "cluster": "prod", "tenant": "t_acme", "verbose": "1", "cookies": ["sid=1"], "body": {"note": "hi"},
    }  # fmt: skip

    form = b"payload=%7B%7D"
    event = build_http_event("POST", "/slack/interactions", body=form, is_base64=True,
                             headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    APIGatewayProxyEventV2Model.model_validate(event)
    response = app.resolve(event, LambdaContext(function_name="f", memory_limit_in_mb=128,
                                                invoked_function_arn="arn", timeout_seconds=3))  # fmt: skip
    assert json.loads(response["body"]) == {"raw": form.decode()}


# ---------------------------------------------------------------------------------------------------- SQS

POSTER_HANDLER = """
import json, os
RECEIVED = []

def lambda_handler(event, context):
    RECEIVED.append(event)
    bodies = {r["messageId"]: json.loads(r["body"]) for r in event["Records"]}
    if any(b.get("mode") == "raise" for b in bodies.values()):
        raise RuntimeError("whole batch fails")
    if any(b.get("mode") == "bogus-id" for b in bodies.values()):
        return {"batchItemFailures": [{"itemIdentifier": ""}]}
    return {"batchItemFailures": [{"itemIdentifier": m} for m, b in bodies.items() if b.get("mode") == "fail"]}
"""


@pytest.fixture
def pump(deployment: Deployment, tmp_path: Path) -> SqsPump:
    write_function(tmp_path, "post_investigation", POSTER_HANDLER)
    write_function(tmp_path, "digest_worker", "def lambda_handler(event, context):\n    return None\n")
    return SqsPump(TEMPLATE, deployment, functions_root=tmp_path, quiet=True)


def send(deployment: Deployment, queue: str, *bodies: dict[str, Any]) -> list[str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    return [
        sqs.send_message(
            QueueUrl=deployment.queue_url(queue), MessageBody=json.dumps(body),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )["MessageId"]
        for body in bodies
    ]  # fmt: skip


def queue_counts(deployment: Deployment, queue: str) -> tuple[int, int]:
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=deployment.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def received_events(pump: SqsPump) -> list[dict[str, Any]]:
    module_handler = pump.functions.handler("PostInvestigationFunction")
    return module_handler.__globals__["RECEIVED"]


def test_pump_deletes_successes_and_keeps_reported_failures(pump: SqsPump, deployment: Deployment) -> None:
    ok, failing, ok2 = send(deployment, "InvestigationQueue", {"mode": "ok"}, {"mode": "fail"}, {"mode": "ok"})
    (result,) = pump.run_once()
    assert result.function == "PostInvestigationFunction"
    assert set(result.message_ids) == {ok, failing, ok2}
    assert result.failed_ids == (failing,)
    assert queue_counts(deployment, "InvestigationQueue") == (0, 1)  # the failure waits out its visibility

    record = received_events(pump)[-1]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == deployment.queue_arn("InvestigationQueue")
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String",
    }  # fmt: skip


@pytest.mark.parametrize("mode", ["raise", "bogus-id"])
def test_an_exception_or_invalid_identifier_fails_the_whole_batch(
    pump: SqsPump, deployment: Deployment, mode: str
) -> None:
    send(deployment, "InvestigationQueue", {"mode": "ok"}, {"mode": mode})
    (result,) = pump.run_once()
    assert set(result.failed_ids) == set(result.message_ids)
    assert result.reason
    assert queue_counts(deployment, "InvestigationQueue") == (0, 2)


def test_failures_end_in_the_dead_letter_queue_after_max_receives(deployment: Deployment, tmp_path: Path) -> None:
    write_function(tmp_path, "post_investigation", POSTER_HANDLER)
    pump = SqsPump(TEMPLATE, deployment, functions_root=tmp_path, failed_visibility_timeout=0, quiet=True)
    (message_id,) = send(deployment, "InvestigationQueue", {"mode": "fail"})
    results = pump.drain(timeout=30)
    max_receives = TEMPLATE.resource("InvestigationQueue")["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert len(results) == max_receives
    dlq = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=deployment.queue_url("InvestigationDeadLetterQueue")
    )
    assert [m["MessageId"] for m in dlq["Messages"]] == [message_id]


def test_drain_processes_more_than_one_batch(pump: SqsPump, deployment: Deployment) -> None:
    sent = send(deployment, "InvestigationQueue", *({"mode": "ok", "n": n} for n in range(15)))
    sent += send(deployment, "DigestQueue", {"tenant_id": "t_acme"})
    results = pump.drain(timeout=30)
    assert sorted(m for r in results for m in r.succeeded_ids) == sorted(sent)
    assert all(len(r.message_ids) <= 10 for r in results)
    assert queue_counts(deployment, "InvestigationQueue") == (0, 0)
    assert queue_counts(deployment, "DigestQueue") == (0, 0)


def test_stream_filters_match_like_lambda_event_filtering() -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OUTBOX#"}]}}}}
    record = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "p"}, "sk": {"S": "OUTBOX#e1"}}}}

    assert matches(pattern, record)
    assert not matches(pattern, {**record, "eventName": "REMOVE"})
    assert not matches(pattern, {**record, "dynamodb": {"Keys": {"sk": {"S": "FEEDBACK#U1"}}}})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"N": "1"}}}})


def test_partial_batch_response_rules() -> None:
    source = SqsEventSource(name="s", queue="q", function_response_types=("ReportBatchItemFailures",))
    ids = ["m1", "m2"]
    assert failed_message_ids(source, None, ids) == (set(), None)
    assert failed_message_ids(source, {}, ids) == (set(), None)
    assert failed_message_ids(source, {"batchItemFailures": []}, ids) == (set(), None)
    assert failed_message_ids(source, {"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == ({"m2"}, None)
    for bad in ([{"itemIdentifier": ""}], [{"itemIdentifier": "m9"}], [{"id": "m1"}], [None]):
        failed, reason = failed_message_ids(source, {"batchItemFailures": bad}, ids)
        assert (failed, bool(reason)) == ({"m1", "m2"}, True), bad
    plain = SqsEventSource(name="s", queue="q")
    assert failed_message_ids(plain, {"batchItemFailures": [{"itemIdentifier": "m1"}]}, ids) == (set(), None)


# ---------------------------------------------------------------------------------------------------- schedule


def test_schedule_event_has_the_eventbridge_shape(deployment: Deployment) -> None:
    event = scheduled_invocation_event(deployment, "DailyDigestFunction", datetime(2026, 11, 27, 9, 0, 3, 900, UTC))
    assert event["version"] == "0"
    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert event["time"] == "2026-11-27T09:00:03Z"
    assert (event["account"], event["region"]) == (deployment.account_id, "us-east-1")
    assert event["resources"][0].startswith(f"arn:aws:events:us-east-1:{deployment.account_id}:rule/")
    assert schedule_event(datetime(2026, 1, 1, 9, 0))["time"] == "2026-01-01T09:00:00Z"
    assert schedule_event(datetime(2026, 1, 1))["id"] != schedule_event(datetime(2026, 1, 1))["id"]


def test_functions_import_and_run_with_their_own_environment(deployment: Deployment, tmp_path: Path) -> None:
    # Module-level code (Lambda's INIT) reads the environment too, e.g. Powertools' Logger service name.
    write_function(
        tmp_path,
        "daily_digest",
        "import os\nAT_INIT = os.environ.get('POWERTOOLS_SERVICE_NAME')\n"
        "def lambda_handler(event, context):\n"
        "    return [AT_INIT, os.environ.get('DIGEST_QUEUE_URL'), event['time']]\n",
    )
    functions = LocalFunctions(TEMPLATE, deployment, functions_root=tmp_path)
    event = scheduled_invocation_event(deployment, "DailyDigestFunction", datetime(2026, 11, 27, 9, tzinfo=UTC))
    service = deployment.function_env("DailyDigestFunction")["POWERTOOLS_SERVICE_NAME"]
    assert functions.invoke("DailyDigestFunction", event) == [
        service,
        deployment.queue_url("DigestQueue"),
        event["time"],
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gateway_binds_the_requested_port(deployment: Deployment, tmp_path: Path) -> None:
    port = free_port()
    with LocalGateway(TEMPLATE, deployment, "127.0.0.1", port, functions_root=tmp_path, quiet=True) as gateway:
        assert gateway.url == f"http://127.0.0.1:{port}"
        assert request(gateway, "GET", "/nope")[0] == 404


def test_cors_follows_the_template(deployment: Deployment, tmp_path: Path) -> None:
    write_function(tmp_path, "portal_api", ECHO_HANDLER)
    preflight = {"Origin": PARAMETERS["PortalUrl"], "Access-Control-Request-Method": "PUT"}
    with LocalGateway(TEMPLATE, deployment, functions_root=tmp_path, quiet=True) as gateway:
        status, headers, _ = request(gateway, "OPTIONS", "/routing", headers=preflight)
        assert status == 204
        assert dict(headers)["access-control-allow-origin"] == PARAMETERS["PortalUrl"]
        assert dict(headers)["access-control-allow-methods"] == "GET,PUT,POST,DELETE"
        assert dict(headers)["access-control-max-age"] == "600"
        _, headers, _ = request(gateway, "GET", "/routing", headers={"Origin": PARAMETERS["PortalUrl"]})
        assert dict(headers)["access-control-allow-origin"] == PARAMETERS["PortalUrl"]
        _, headers, _ = request(gateway, "GET", "/routing", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in dict(headers)

    document = copy.deepcopy(TEMPLATE.document)
    del document["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    without_cors = Template(document, path=TEMPLATE.path)
    with LocalGateway(without_cors, deployment, functions_root=tmp_path, quiet=True) as gateway:
        # Without CorsConfiguration API Gateway has no answer for a preflight either.
        assert request(gateway, "OPTIONS", "/routing", headers=preflight)[0] == 404
