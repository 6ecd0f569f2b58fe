"""Creates the template's AWS resources in an emulator and resolves every `!Ref`/`!GetAtt`/`!Sub` against them.

Plain boto3 clients are used, so the same code runs inside moto's in-process `mock_aws` and against a moto
server reached through the standard `AWS_ENDPOINT_URL` variable. Only the data-plane resources the functions
talk to are created (tables, queues and queue policies, KMS keys and aliases, secrets, EventBridge buses, log
groups); functions, layers and the HTTP API are run by the local gateway and pump instead, but still resolve where a
value makes sense (an HttpApi's Ref is "local"). Alarms are not emulated (nothing local publishes metrics).

Why not moto's own CloudFormation (measured with moto 5.2.5 on the SAM-transformed template, 72 resources of 20
types): moto has models for 13 of the types (53 resources) but none for AWS::SecretsManager::Secret,
AWS::SQS::QueuePolicy, AWS::Lambda::Alias, AWS::Lambda::EventInvokeConfig, AWS::ApiGatewayV2::Api/Stage and
AWS::CloudWatch::Alarm; creating the whole stack fails (KeyError 'FunctionName' in its Lambda model, on the
aliased functions), and the data-plane subset alone (CREATE_COMPLETE in 0.25 s) has no credentials secret. It also
resolves no function environment unless it creates the functions. The resolver below stays; it covers what the
functions see. cfn-lint's decoder (cfnlint.decode.decode_str) reads template.yaml into the same document as
localdev.template.load_yaml (compared key by key), but importing it costs ~0.5 s per process for ~60 lines saved.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localdev.template import FUNCTION_TYPE, HTTP_API_TYPE, LAYER_TYPE, Template, TemplateError

if TYPE_CHECKING:
    from botocore.client import BaseClient

DEFAULT_STACK_NAME = "sre-slack-local"
LOCAL_API_ID = "local"

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
KEY_TYPE = "AWS::KMS::Key"
ALIAS_TYPE = "AWS::KMS::Alias"
SECRET_TYPE = "AWS::SecretsManager::Secret"
QUEUE_POLICY_TYPE = "AWS::SQS::QueuePolicy"
EVENT_BUS_TYPE = "AWS::Events::EventBus"
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"

# Resources the local sandbox runs (or needs) without creating them; anything else that is not created gets a
# warning, because a function pointed at it would get a name that exists nowhere.
_NOT_EMULATED_ON_PURPOSE = {
    FUNCTION_TYPE, LAYER_TYPE, HTTP_API_TYPE, "AWS::Serverless::Api", "AWS::Lambda::Permission",
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::CloudWatch::Alarm",
    "AWS::Events::Rule", "AWS::Scheduler::Schedule", "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
}  # fmt: skip

_LOCAL_KEY_TAG = "localdev:logical-id"


class _NoValue:
    """`AWS::NoValue`: the property or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


@dataclass
class DeployedResource:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    """What `deploy` created, and the resolver of template values against it."""

    template: Template
    stack_name: str
    region: str
    account_id: str
    parameters: dict[str, Any]
    api_id: str = LOCAL_API_ID
    resources: dict[str, DeployedResource] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # logical id -> type, not created locally

    # ------------------------------------------------------------------------------------------ names
    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def function_name(self, logical_id: str) -> str:
        props = self.template.resource(logical_id).get("Properties") or {}
        name = props.get("FunctionName")
        return str(self.resolve(name)) if name is not None else self.physical_name(logical_id)

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def queue_url(self, logical_id: str) -> str:
        return str(self.ref(logical_id))

    def queue_arn(self, logical_id: str) -> str:
        return str(self.get_att(logical_id, "Arn"))

    # ------------------------------------------------------------------------------------------ Ref/GetAtt
    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self._pseudo_parameter(name)
        if pseudo is not None:
            return pseudo
        if name in self.resources:
            return self.resources[name].ref
        resource_type = self.template.resource(name).get("Type")
        if resource_type == HTTP_API_TYPE:
            return self.api_id
        if resource_type == FUNCTION_TYPE:
            return self.function_name(name)
        if resource_type == LAYER_TYPE:
            return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{self.physical_name(name)}:1"
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        deployed = self.resources.get(logical_id)
        if deployed is not None and attribute in deployed.attributes:
            return deployed.attributes[attribute]
        resource_type = self.template.resource(logical_id).get("Type")
        if resource_type == FUNCTION_TYPE and attribute == "Arn":
            return self.function_arn(logical_id)
        if resource_type == HTTP_API_TYPE and attribute == "ApiEndpoint":
            return f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com"
        raise TemplateError(f"!GetAtt {logical_id}.{attribute} cannot be resolved locally ({resource_type})")

    def _pseudo_parameter(self, name: str) -> Any:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }.get(name)

    # ------------------------------------------------------------------------------------------ resolve
    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated, as CloudFormation would hand it over."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()  # fmt: skip
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Condition":
                return self.condition(str(arg))
            if key.startswith("Fn::"):
                return self._intrinsic(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else self.resolve(arg)
            return self.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            delimiter, items = arg
            return str(delimiter).join(_text(v) for v in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::Split":
            delimiter, source = self.resolve(arg)
            return str(source).split(str(delimiter))
        if key == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return _text(left) == _text(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(c) for c in arg)
        if key == "Fn::Or":
            return any(self._truth(c) for c in arg)
        if key == "Fn::FindInMap":
            mapping, top, second = self.resolve(arg)
            return self.template.document["Mappings"][mapping][top][second]
        if key == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if key == "Fn::Base64":
            return base64.b64encode(_text(self.resolve(arg)).encode()).decode()
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if key == "Fn::Length":
            return len(self.resolve(arg))
        raise TemplateError(f"{key} cannot be resolved locally")

    def _truth(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if isinstance(resolved, str):  # a bare condition name inside Fn::Not/And/Or
            return self.condition(resolved)
        return bool(resolved)

    def condition(self, name: str) -> bool:
        conditions = self.template.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"no condition {name!r} in the template")
        return bool(self.resolve(conditions[name]))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} stays ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _text(self.get_att(logical_id, attribute))
            return _text(self.ref(name))

        return re.sub(r"\$\{([^}]*)\}", substitute, str(text))

    # ------------------------------------------------------------------------------------------ functions
    def function_env(self, logical_id: str) -> dict[str, str]:
        """The function's environment variables (Globals merged) as Lambda would see them: all strings."""
        env: dict[str, str] = {}
        for name, value in self.template.function(logical_id).env.items():
            resolved = self.resolve(value)
            if resolved is NO_VALUE:
                continue
            if isinstance(resolved, dict | list):
                raise TemplateError(f"{logical_id}: environment variable {name} resolves to {resolved!r}")
            env[name] = _text(resolved)
        return env

    def outputs(self) -> dict[str, str]:
        return {name: _text(self.resolve(out["Value"])) for name, out in self.template.outputs.items()}


def _text(value: Any) -> str:
    """How CloudFormation stringifies a scalar (booleans are lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"expected a scalar, got {value!r}")
    return str(value)


# ---------------------------------------------------------------------------------------------------- deploy


def deploy(
    template: Template,
    *,
    parameters: Mapping[str, Any],
    region: str = "us-east-1",
    stack_name: str = DEFAULT_STACK_NAME,
    secret_values: Mapping[str, str | Mapping[str, Any]] | None = None,
    api_id: str = LOCAL_API_ID,
) -> Deployment:
    """Create the template's tables, queues, KMS keys/aliases and secrets; return the resolver over them.

    `secret_values` maps a secret's logical id to the value stored instead of the template's SecretString
    (e.g. local Slack credentials). Deploying again against the same emulator reuses what exists.
    """
    import boto3

    account_id = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    deployment = Deployment(
        template=template,
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        parameters=_parameter_values(template, parameters),
        api_id=api_id,
    )
    creators = {
        TABLE_TYPE: _create_table,
        QUEUE_TYPE: _create_queue,
        KEY_TYPE: _create_key,
        ALIAS_TYPE: _create_alias,
        SECRET_TYPE: _create_secret,
        QUEUE_POLICY_TYPE: _create_queue_policy,
        EVENT_BUS_TYPE: _create_event_bus,
        LOG_GROUP_TYPE: _create_log_group,
    }
    clients: dict[str, BaseClient] = {}

    def client(service: str) -> BaseClient:
        if service not in clients:
            clients[service] = boto3.client(service, region_name=region)  # type: ignore[call-overload]
        return clients[service]

    overrides = dict(secret_values or {})
    unknown_secrets = set(overrides) - set(template.resources_of_type(SECRET_TYPE))
    if unknown_secrets:
        raise TemplateError(f"secret_values for resources that are not secrets: {sorted(unknown_secrets)}")

    for logical_id in _creation_order(template):
        resource = template.resources[logical_id]
        resource_type = resource.get("Type", "")
        condition = resource.get("Condition")
        if condition is not None and not deployment.condition(condition):
            continue
        creator = creators.get(resource_type)
        if creator is None:
            deployment.skipped[logical_id] = resource_type
            if resource_type not in _NOT_EMULATED_ON_PURPOSE:
                warnings.warn(f"{logical_id} ({resource_type}) is not emulated locally", stacklevel=2)
            continue
        properties = deployment.resolve(resource.get("Properties") or {})
        deployment.resources[logical_id] = creator(
            client, deployment, logical_id, properties, overrides.get(logical_id)
        )
    return deployment


def _parameter_values(template: Template, given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(given) - set(template.parameters)
    if unknown:
        raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
    values = {**template.parameter_defaults, **given}
    missing = [name for name in template.parameters if name not in values]
    if missing:
        raise TemplateError(f"template parameters without a value: {missing}")
    return {name: template.parameters[name].coerce(value) for name, value in values.items()}


def _references(value: Any) -> set[str]:
    """Names a template value refers to (resources, parameters and pseudo parameters alike)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else str(arg[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                own = set() if isinstance(arg, str) else set(arg[1])
                names = {n.split(".", 1)[0] for n in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
                found |= names - own
                if not isinstance(arg, str):
                    found |= _references(arg[1])
            else:
                found |= _references(arg)
    return found


def _creation_order(template: Template) -> list[str]:
    """Resources ordered so that each comes after what it references (a DLQ before its source queue)."""
    resources = template.resources
    dependencies: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        dependencies[logical_id] = (_references(resource.get("Properties")) | explicit) & set(resources)
    ordered: list[str] = []
    state: dict[str, str] = {}

    def visit(logical_id: str, path: tuple[str, ...]) -> None:
        if state.get(logical_id) == "done":
            return
        if state.get(logical_id) == "visiting":
            raise TemplateError(f"circular dependency: {' -> '.join((*path, logical_id))}")
        state[logical_id] = "visiting"
        for dependency in sorted(dependencies[logical_id]):
            visit(dependency, (*path, logical_id))
        state[logical_id] = "done"
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id, ())
    return ordered


# ---------------------------------------------------------------------------------------------------- creators


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    tags = properties.get("Tags") or []
    if isinstance(tags, dict):  # some resource types take a plain map
        return [{"Key": k, "Value": _text(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": _text(t["Value"])} for t in tags]


def _throughput(spec: dict[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(spec["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(spec["WriteCapacityUnits"]),
    }


def _index(spec: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    index: dict[str, Any] = {
        "IndexName": spec["IndexName"],
        "KeySchema": spec["KeySchema"],
        "Projection": spec["Projection"],
    }
    if provisioned and "ProvisionedThroughput" in spec:
        index["ProvisionedThroughput"] = _throughput(spec["ProvisionedThroughput"])
    return index


def _create_table(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    dynamodb = client("dynamodb")
    name = str(p.get("TableName") or deployment.physical_name(logical_id))
    billing_mode = p.get("BillingMode", "PROVISIONED")
    provisioned = billing_mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": p["AttributeDefinitions"],
        "KeySchema": p["KeySchema"],
        "BillingMode": billing_mode,
    }
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(p["ProvisionedThroughput"])
    if p.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [_index(i, provisioned) for i in p["GlobalSecondaryIndexes"]]
    if p.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [_index(i, False) for i in p["LocalSecondaryIndexes"]]
    if "StreamSpecification" in p:
        view_type = p["StreamSpecification"]["StreamViewType"]
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    if "SSESpecification" in p:
        sse = p["SSESpecification"]
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))} | {
            k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse
        }
    for key in ("TableClass", "DeletionProtectionEnabled"):
        if key in p:
            request[key] = p[key]
    if p.get("Tags"):
        request["Tags"] = _tags(p)
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):  # deployed before, same emulator
        dynamodb.create_table(**request)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    table = dynamodb.describe_table(TableName=name)["Table"]
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return DeployedResource(logical_id, TABLE_TYPE, name, attributes)


_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled",
    "VisibilityTimeout",
)  # fmt: skip


def _create_queue(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    sqs = client("sqs")
    fifo = _text(p.get("FifoQueue", False)) == "true"
    name = str(p.get("QueueName") or deployment.physical_name(logical_id))
    if fifo and not name.endswith(".fifo"):
        name += ".fifo"
    attributes: dict[str, str] = {}
    for key in _QUEUE_ATTRIBUTES:
        if key in p:
            value = p[key]
            attributes[key] = json.dumps(value) if isinstance(value, dict) else _text(value)
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except sqs.exceptions.QueueNameExists:  # deployed before with other attributes: converge to the template
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        settable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if settable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
    if p.get("Tags"):
        sqs.tag_queue(QueueUrl=url, Tags={t["Key"]: t["Value"] for t in _tags(p)})
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return DeployedResource(logical_id, QUEUE_TYPE, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _existing_key(kms, tag_value: str) -> str | None:
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            if {"TagKey": _LOCAL_KEY_TAG, "TagValue": tag_value} in tags:
                return key["KeyId"]
    return None


def _create_key(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    kms = client("kms")
    # KMS keys have no name; a tag finds the key again when deploying twice against one emulator.
    tag_value = deployment.physical_name(logical_id)
    key_id = _existing_key(kms, tag_value)
    if key_id is None:
        request: dict[str, Any] = {
            "Tags": [{"TagKey": _LOCAL_KEY_TAG, "TagValue": tag_value}]
            + [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(p)]
        }
        if "KeyPolicy" in p:
            policy = p["KeyPolicy"]
            request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
        for key in ("Description", "KeyUsage", "KeySpec", "MultiRegion", "Origin"):
            if key in p:
                request[key] = p[key]
        key_id = kms.create_key(**request)["KeyMetadata"]["KeyId"]
        if p.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key_id)
        if p.get("Enabled") is False:
            kms.disable_key(KeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return DeployedResource(logical_id, KEY_TYPE, key_id, {"Arn": arn, "KeyId": key_id})


def _create_alias(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    kms = client("kms")
    alias, target = str(p["AliasName"]), str(p["TargetKeyId"])
    try:
        kms.create_alias(AliasName=alias, TargetKeyId=target)
    except kms.exceptions.AlreadyExistsException:
        kms.update_alias(AliasName=alias, TargetKeyId=target)
    return DeployedResource(logical_id, ALIAS_TYPE, alias)


def _secret_string(client, p: dict[str, Any], override: str | Mapping[str, Any] | None) -> str:
    if override is not None:
        return override if isinstance(override, str) else json.dumps(dict(override))
    if "SecretString" in p:
        return str(p["SecretString"])
    generate = p.get("GenerateSecretString")
    if generate is None:
        return ""
    options = {
        k: generate[k]
        for k in ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation",
                  "ExcludeUppercase", "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType")
        if k in generate
    }  # fmt: skip
    password = client("secretsmanager").get_random_password(**options)["RandomPassword"]
    if "GenerateStringKey" in generate:
        document = json.loads(generate.get("SecretStringTemplate") or "{}")
        document[generate["GenerateStringKey"]] = password
        return json.dumps(document)
    return password


def _create_secret(client, deployment: Deployment, logical_id: str, p: dict[str, Any], override) -> Any:
    secrets = client("secretsmanager")
    name = str(p.get("Name") or deployment.physical_name(logical_id))
    value = _secret_string(client, p, override)
    request: dict[str, Any] = {"Name": name, "SecretString": value}
    for key in ("Description", "KmsKeyId"):
        if key in p:
            request[key] = p[key]
    if p.get("Tags"):
        request["Tags"] = _tags(p)
    try:
        arn = secrets.create_secret(**request)["ARN"]
    except secrets.exceptions.ResourceExistsException:
        arn = secrets.describe_secret(SecretId=name)["ARN"]
        if override is not None:  # an operator-filled value is kept unless the caller brings its own
            secrets.put_secret_value(SecretId=arn, SecretString=value)
    return DeployedResource(logical_id, SECRET_TYPE, arn, {"Id": arn})


def _create_queue_policy(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    """Sets the policy on each queue, as CloudFormation does (the queues' `Policy` attribute)."""
    sqs = client("sqs")
    policy = p["PolicyDocument"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    for url in p.get("Queues") or []:
        sqs.set_queue_attributes(QueueUrl=str(url), Attributes={"Policy": text})
    return DeployedResource(logical_id, QUEUE_POLICY_TYPE, f"{deployment.physical_name(logical_id)}")


def _create_event_bus(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    events = client("events")
    name = str(p.get("Name") or deployment.physical_name(logical_id))
    request: dict[str, Any] = {"Name": name}
    if p.get("Tags"):
        request["Tags"] = _tags(p)
    try:
        arn = events.create_event_bus(**request)["EventBusArn"]
    except events.exceptions.ResourceAlreadyExistsException:  # deployed before, same emulator
        arn = events.describe_event_bus(Name=name)["Arn"]
    return DeployedResource(logical_id, EVENT_BUS_TYPE, name, {"Arn": arn, "Name": name})


def _create_log_group(client, deployment: Deployment, logical_id: str, p: dict[str, Any], _override) -> Any:
    logs = client("logs")
    name = str(p.get("LogGroupName") or deployment.physical_name(logical_id))
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in p:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    arn = f"arn:aws:logs:{deployment.region}:{deployment.account_id}:log-group:{name}:*"
    return DeployedResource(logical_id, LOG_GROUP_TYPE, name, {"Arn": arn})
