"""Reads template.yaml, the single source of truth for what runs locally.

CloudFormation short tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) are turned into their long forms
(`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`) so that everything downstream deals with
one representation, the one CloudFormation itself uses after parsing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE_PATH = REPO_ROOT / "template.yaml"

FUNCTION_TYPE = "AWS::Serverless::Function"
EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"


class TemplateError(ValueError):
    """The template cannot be read or used as written."""


# ---------------------------------------------------------------------------------------------------- YAML


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsic functions."""


# CloudFormation reads YAML scalars such as 2010-09-09 as strings, not dates.
CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise TemplateError(f"unsupported YAML node {node!r}")  # pragma: no cover - yaml has no other kinds


def _long_form(function_name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {function_name: _construct_node(loader, node)}

    return construct


def _construct_ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": loader.construct_scalar(node)}  # type: ignore[arg-type]


def _construct_condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": loader.construct_scalar(node)}  # type: ignore[arg-type]


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        # "Resource.Attribute" — attributes may contain dots themselves (Endpoint.Address), resources may not.
        logical_id, _, attribute = str(loader.construct_scalar(node)).partition(".")
        if not attribute:
            raise TemplateError(f"!GetAtt needs 'Resource.Attribute', got {logical_id!r}")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {"Fn::GetAtt": _construct_node(loader, node)}


_SHORT_FUNCTIONS = (
    "Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub", "Transform",
    "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString",
)  # fmt: skip

for _name in _SHORT_FUNCTIONS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))
CloudFormationLoader.add_constructor("!Ref", _construct_ref)
CloudFormationLoader.add_constructor("!GetAtt", _construct_get_att)
CloudFormationLoader.add_constructor("!Condition", _construct_condition)


def load_yaml(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise TemplateError("a template is a YAML mapping")
    return document


# ---------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    allowed_values: tuple[str, ...] = ()
    allowed_pattern: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def coerce(self, value: Any) -> str | list[str]:
        """The value as CloudFormation hands it to `Ref`, validated the way CloudFormation validates it."""
        if self.type.startswith("List<") or self.type == "CommaDelimitedList":
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            return [str(item).strip() for item in items]
        text = str(value)
        if self.allowed_values and text not in self.allowed_values:
            raise TemplateError(f"parameter {self.name}={text!r} is not one of {list(self.allowed_values)}")
        if self.allowed_pattern is not None and re.fullmatch(self.allowed_pattern, text) is None:
            raise TemplateError(f"parameter {self.name}={text!r} does not match {self.allowed_pattern}")
        return text


@dataclass(frozen=True)
class HttpApiRoute:
    name: str
    method: str  # upper case, or ANY
    path: str  # "/clusters/{cluster}/test"; "$default" for the catch-all route
    auth: Literal["none", "default"] | str  # "default": the API's default authorizer; else a named one
    api: Any = None  # the ApiId as written (usually {"Ref": "HttpApi"}); None: SAM's implicit API

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def needs_authorizer(self) -> bool:
        return self.auth != "none"


@dataclass(frozen=True)
class SqsEventSource:
    name: str
    queue: str  # logical id of the AWS::SQS::Queue
    batch_size: int = 10
    maximum_batching_window_seconds: int = 0
    function_response_types: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    expression: str  # "cron(0 9 * * ? *)" / "rate(1 hour)"
    enabled: bool = True
    input: str | None = None  # JSON passed instead of the scheduled event, when the template sets Input


@dataclass(frozen=True)
class StreamEventSource:
    """An `AWS::Lambda::EventSourceMapping` from a table's DynamoDB stream to a function of the template."""

    name: str  # the mapping's logical id
    function: str  # logical id of the function
    table: str  # logical id of the AWS::DynamoDB::Table
    batch_size: int = 100
    starting_position: str = "LATEST"
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns, parsed
    function_response_types: tuple[str, ...] = ()
    maximum_retry_attempts: int = -1
    bisect_on_error: bool = False
    on_failure: str | None = None  # logical id of the destination queue
    enabled: bool = True

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    env: dict[str, Any]  # Globals merged with the function's own variables; values still unresolved
    http_routes: tuple[HttpApiRoute, ...] = ()
    sqs_events: tuple[SqsEventSource, ...] = ()
    schedules: tuple[ScheduleEvent, ...] = ()
    layers: tuple[Any, ...] = ()

    @property
    def directory_name(self) -> str:
        """`functions/oauth_callback/` -> `oauth_callback`."""
        return Path(self.code_uri.rstrip("/")).name

    @property
    def events(self) -> tuple[HttpApiRoute | SqsEventSource | ScheduleEvent, ...]:
        return (*self.http_routes, *self.sqs_events, *self.schedules)


@dataclass
class Template:
    document: dict[str, Any]
    path: Path | None = None
    parameters: dict[str, Parameter] = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = {
            name: Parameter(
                name=name,
                type=str(spec.get("Type", "String")),
                default=spec.get("Default"),
                allowed_values=tuple(str(v) for v in spec.get("AllowedValues", ())),
                allowed_pattern=spec.get("AllowedPattern"),
            )
            for name, spec in (self.document.get("Parameters") or {}).items()
        }

    @classmethod
    def load(cls, path: Path | str = DEFAULT_TEMPLATE_PATH) -> Template:
        path = Path(path)
        return cls(load_yaml(path.read_text(encoding="utf-8")), path=path)

    @property
    def root(self) -> Path:
        """Directory that CodeUri/ContentUri are relative to."""
        return self.path.parent if self.path is not None else REPO_ROOT

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document.get("Resources") or {}

    @property
    def globals_function(self) -> dict[str, Any]:
        return (self.document.get("Globals") or {}).get("Function") or {}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.document.get("Outputs") or {}

    @property
    def parameter_defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items() if p.default is not None}

    def resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in the template") from None

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == resource_type}

    def functions(self) -> dict[str, FunctionSpec]:
        functions = self.resources_of_type(FUNCTION_TYPE)
        return {lid: self._function_spec(lid, res) for lid, res in functions.items()}

    def function(self, logical_id: str) -> FunctionSpec:
        resource = self.resource(logical_id)
        if resource.get("Type") != FUNCTION_TYPE:
            raise TemplateError(f"{logical_id} is a {resource.get('Type')}, not a function")
        return self._function_spec(logical_id, resource)

    def stream_sources(self) -> list[StreamEventSource]:
        """The event source mappings that feed a table's stream to one of the template's functions."""
        return [_stream_source(lid, res.get("Properties") or {})
                for lid, res in self.resources_of_type(EVENT_SOURCE_MAPPING_TYPE).items()
                if _get_att_target((res.get("Properties") or {}).get("EventSourceArn"), "StreamArn")]  # fmt: skip

    def layer_directories(self) -> list[Path]:
        """Folders Lambda puts on sys.path for the layers (`<ContentUri>/python`) that exist as source.

        Layers built by `sam build` (BuildMethod, e.g. pinned third-party deps) have no such folder; locally
        their packages come from the virtual environment.
        """
        folders = [
            self.root / content_uri.rstrip("/") / "python"
            for res in self.resources_of_type(LAYER_TYPE).values()
            if isinstance(content_uri := (res.get("Properties") or {}).get("ContentUri"), str)
        ]
        return [folder for folder in folders if folder.is_dir()]

    def _function_spec(self, logical_id: str, resource: dict[str, Any]) -> FunctionSpec:
        g = self.globals_function
        props = resource.get("Properties") or {}
        code_uri = props.get("CodeUri", g.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        env = {
            **((g.get("Environment") or {}).get("Variables") or {}),
            **((props.get("Environment") or {}).get("Variables") or {}),
        }
        routes: list[HttpApiRoute] = []
        queues: list[SqsEventSource] = []
        schedules: list[ScheduleEvent] = []
        for name, event in (props.get("Events") or {}).items():
            kind, ev = event.get("Type"), event.get("Properties") or {}
            if kind == "HttpApi":
                routes.append(_http_route(name, ev))
            elif kind == "SQS":
                queues.append(_sqs_source(logical_id, name, ev))
            elif kind in ("Schedule", "ScheduleV2"):
                schedules.append(
                    ScheduleEvent(
                        name=name,
                        expression=str(ev.get("Schedule") or ev.get("ScheduleExpression")),
                        enabled=_enabled(ev),
                        input=ev.get("Input"),
                    )
                )
            else:
                raise TemplateError(f"{logical_id}.{name}: event type {kind} is not emulated locally")
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=str(props.get("Handler", g.get("Handler", "app.lambda_handler"))),
            runtime=str(props.get("Runtime", g.get("Runtime", ""))),
            timeout=int(props.get("Timeout", g.get("Timeout", 3))),
            memory=int(props.get("MemorySize", g.get("MemorySize", 128))),
            env=env,
            http_routes=tuple(routes),
            sqs_events=tuple(queues),
            schedules=tuple(schedules),
            # SAM puts the Globals layers before the function's own.
            layers=(*(g.get("Layers") or ()), *(props.get("Layers") or ())),
        )


def _enabled(event_properties: dict[str, Any]) -> bool:
    if "State" in event_properties:
        return event_properties["State"] == "ENABLED"
    return bool(event_properties.get("Enabled", True))


def _http_route(name: str, ev: dict[str, Any]) -> HttpApiRoute:
    method = str(ev.get("Method", "ANY")).upper()
    path = str(ev.get("Path", "$default"))
    authorizer = (ev.get("Auth") or {}).get("Authorizer")
    if authorizer is None:
        auth = "default"
    elif authorizer == "NONE":
        auth = "none"
    else:
        auth = str(authorizer)
    return HttpApiRoute(name=name, method="ANY" if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" else method,
                        path=path, auth=auth, api=ev.get("ApiId"))  # fmt: skip


def _sqs_source(function_id: str, name: str, ev: dict[str, Any]) -> SqsEventSource:
    queue = ev.get("Queue")
    # The event names its queue by ARN; locally we need the queue resource behind it.
    if isinstance(queue, dict) and "Fn::GetAtt" in queue:
        queue_id = queue["Fn::GetAtt"][0]
    elif isinstance(queue, dict) and "Ref" in queue:
        queue_id = queue["Ref"]
    else:
        raise TemplateError(f"{function_id}.{name}: Queue must be !GetAtt <Queue>.Arn of a template queue")
    return SqsEventSource(
        name=name,
        queue=str(queue_id),
        batch_size=int(ev.get("BatchSize", 10)),
        maximum_batching_window_seconds=int(ev.get("MaximumBatchingWindowInSeconds", 0)),
        function_response_types=tuple(ev.get("FunctionResponseTypes") or ()),
        enabled=_enabled(ev),
    )


def _get_att_target(value: Any, attribute: str) -> str | None:
    """`!GetAtt X.<attribute>` -> "X"."""
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list) and value["Fn::GetAtt"][1:] == [attribute]:
        return str(value["Fn::GetAtt"][0])
    return None


def _stream_source(logical_id: str, p: dict[str, Any]) -> StreamEventSource:
    function = p.get("FunctionName")
    if not (isinstance(function, dict) and "Ref" in function):
        raise TemplateError(f"{logical_id}: FunctionName must be !Ref <Function> of a template function")
    destination = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    filters = tuple(json.loads(f["Pattern"]) for f in ((p.get("FilterCriteria") or {}).get("Filters") or []))
    return StreamEventSource(
        name=logical_id,
        function=str(function["Ref"]),
        table=str(_get_att_target(p.get("EventSourceArn"), "StreamArn")),
        batch_size=int(p.get("BatchSize", 100)),
        starting_position=str(p.get("StartingPosition", "LATEST")),
        filters=filters,
        function_response_types=tuple(p.get("FunctionResponseTypes") or ()),
        maximum_retry_attempts=int(p.get("MaximumRetryAttempts", -1)),
        bisect_on_error=bool(p.get("BisectBatchOnFunctionError", False)),
        on_failure=_get_att_target(destination, "Arn"),
        enabled=bool(p.get("Enabled", True)),
    )
