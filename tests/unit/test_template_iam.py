"""Each function's DynamoDB permissions in template.yaml are exactly what its code calls: no more, no less.

The code is read, not run: from a function's handler (and the module-level code of everything it imports), a
reference graph over `sre_slack` (a function is reachable when reachable code names it; a class brings all its
methods; a decorated function is reachable when its module is imported, since decorators register handlers)
gives the DynamoDB calls that function can make and the indexes it queries. The template must allow exactly
those actions on SlackTable and `dynamodb:Query` on exactly those indexes. A new call in the code without the
permission fails here, not with AccessDenied in AWS; a permission nobody uses fails here too.

    .venv/bin/python tests/test_template_iam.py     # prints what each function needs
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localdev.template import Template

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "layers" / "shared" / "python"
TOP_PACKAGE = "sre_slack"

CLIENT_ACTIONS = {
    "get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem", "delete_item": "DeleteItem",
    "query": "Query", "scan": "Scan", "transact_write_items": "TransactWriteItems",
    "transact_get_items": "TransactGetItems", "batch_write_item": "BatchWriteItem",
    "batch_get_item": "BatchGetItem",
}  # fmt: skip
# Actions inside TransactWriteItems are authorised one by one (each needs its own permission).
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem"}  # fmt: skip
# sre_slack.storage.table.Table: the one DynamoDB helper. Its own body calls every client method on behalf of its
# callers, so it is not scanned itself; its callers' calls on a table are.
TABLE_MODULE = "sre_slack.storage.table"
TABLE_METHODS = {
    "get": "GetItem", "query": "Query", "put": "PutItem", "update": "UpdateItem", "delete": "DeleteItem",
    "transact": "TransactWriteItems", "put_action": "PutItem", "update_action": "UpdateItem",
    "check_action": "ConditionCheckItem",
}  # fmt: skip
# Names the code binds a table to (`slack_table = table()`), besides calling `table()` in place.
TABLE_NAMES = {"slack_table"}
# keys.py names the indexes; code refers to them through these constants.
INDEX_CONSTANTS = {"BY_TEAM_INDEX": "ByTeam", "ACTIVE_INDEX": "ActiveInstallations"}
# Powertools' DynamoDBPersistenceLayer (idempotency) reads and writes its own table with these.
IDEMPOTENCY_ACTIONS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
# Reading SlackTable's stream: what a Lambda event source mapping on it needs (and the code re-reading a range).
STREAM_ACTIONS = {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}
STREAM_CALLS = {"get_shard_iterator", "get_records", "describe_stream"}


# ---------------------------------------------------------------------------------------------------- code


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    defs: dict[str, ast.AST] = field(default_factory=dict)  # qualname -> FunctionDef / ClassDef

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def module_path(name: str) -> Path | None:
    base = PACKAGE_ROOT.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


class CodeGraph:
    """Reference graph of one handler module and the `sre_slack` modules it reaches."""

    def __init__(self, handler_path: Path) -> None:
        self.modules: dict[str, Module] = {}
        self.app = self._load("app", handler_path)

    # ------------------------------------------------------------------------------ loading
    def _load(self, name: str, path: Path) -> Module:
        module = Module(name, path, ast.parse(path.read_text(encoding="utf-8")))
        self.modules[name] = module
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    module.aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                source = self._absolute(module, node)
                for alias in node.names:
                    module.aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                module.defs[node.name] = node
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                            module.defs[f"{node.name}.{item.name}"] = item
        return module

    @staticmethod
    def _absolute(module: Module, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = module.package.split(".")
        parts = parts[: len(parts) - (node.level - 1)]
        return ".".join([*parts, *([node.module] if node.module else [])])

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        if name.split(".")[0] != TOP_PACKAGE:
            return None
        path = module_path(name)
        return self._load(name, path) if path is not None else None

    # ------------------------------------------------------------------------------ resolving
    def _target(self, dotted: str) -> Iterator[str]:
        """Graph nodes a dotted name (`sre_slack.x.y.f`) stands for: its module(s) and the definition."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = self.module(".".join(parts[:cut]))
            if module is None:
                continue
            for i in range(1, cut + 1):  # importing a.b.c runs a, a.b and a.b.c
                if self.module(".".join(parts[:i])) is not None:
                    yield f"module:{'.'.join(parts[:i])}"
            rest = ".".join(parts[cut:])
            if rest:
                head = rest.split(".")[0]
                if head in module.defs:
                    yield f"{module.name}:{head}"
                if rest in module.defs:
                    yield f"{module.name}:{rest}"
                if head in module.aliases:  # re-exported name
                    yield from self._target(".".join([module.aliases[head], *rest.split(".")[1:]]))
            return

    def references(self, module: Module, nodes: list[ast.AST], class_name: str | None = None) -> set[str]:
        found: set[str] = set()
        for root in nodes:
            for node in ast.walk(root):
                chain = _dotted(node)
                if chain is None:
                    continue
                head, *rest = chain.split(".")
                if head in ("self", "cls") and class_name and rest:
                    if f"{class_name}.{rest[0]}" in module.defs:
                        found.add(f"{module.name}:{class_name}.{rest[0]}")
                elif head in module.defs:
                    found.add(f"{module.name}:{head}")
                elif head in module.aliases:
                    found |= set(self._target(".".join([module.aliases[head], *rest])))
        return found

    def edges(self, node_id: str) -> tuple[Module, list[ast.AST], set[str]]:
        """(module, the code that runs for this node, the nodes it references)."""
        kind, _, rest = node_id.partition(":")
        if kind == "module":
            module = self.modules[rest]
            code: list[ast.AST] = []
            registered: set[str] = set()
            for stmt in module.tree.body:
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    code += [*stmt.decorator_list, *getattr(getattr(stmt, "args", None), "defaults", [])]
                    if stmt.decorator_list:  # registered by its decorator when the module is imported
                        registered.add(f"{module.name}:{stmt.name}")
                    if isinstance(stmt, ast.ClassDef):
                        code += [*stmt.bases, *(s for s in stmt.body if not isinstance(
                            s, ast.FunctionDef | ast.AsyncFunctionDef))]  # fmt: skip
                        for item in stmt.body:
                            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.decorator_list:
                                code += item.decorator_list
                else:
                    code.append(stmt)
            # Lazy imports inside functions run that module's code when called; count them as imported.
            imported = {f"module:{m}" for m in self._imported_modules(module)}
            return module, code, self.references(module, code) | registered | imported
        module = self.modules[kind]
        definition = module.defs[rest]
        class_name = rest.split(".")[0] if isinstance(definition, ast.ClassDef) or "." in rest else None
        refs = self.references(module, [definition], class_name)
        if isinstance(definition, ast.ClassDef):  # a class brings its methods (called on instances)
            refs |= {f"{module.name}:{q}" for q in module.defs if q.startswith(f"{definition.name}.")}
        return module, [definition], refs

    def _imported_modules(self, module: Module) -> set[str]:
        names: set[str] = set()
        for target in module.aliases.values():
            names |= {n.removeprefix("module:") for n in self._target(target) if n.startswith("module:")}
        return names

    def reachable(self, handler: str) -> dict[str, tuple[Module, list[ast.AST]]]:
        seen: dict[str, tuple[Module, list[ast.AST]]] = {}
        todo = ["module:app", f"app:{handler}"]
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            module, code, refs = self.edges(node_id)
            seen[node_id] = (module, code)
            todo += sorted(refs - set(seen))
        return seen


def _is_table(receiver: ast.AST) -> bool:
    """`table()` or a name bound to it: the receiver of a Table method call."""
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "table":
        return True
    return isinstance(receiver, ast.Name) and receiver.id in TABLE_NAMES


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return None


@dataclass
class Needs:
    table_actions: set[str] = field(default_factory=set)  # on SlackTable itself
    indexes: set[str] = field(default_factory=set)  # queried with IndexName
    idempotency: bool = False
    put_events: bool = False  # calls EventBridge PutEvents
    reads_stream: bool = False  # calls DynamoDB Streams
    where: dict[str, set[str]] = field(default_factory=dict)  # action -> reachable definitions using it


def _node_code(code: list[ast.AST]) -> Iterator[ast.AST]:
    for root in code:
        if isinstance(root, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from (n for stmt in root.body for n in ast.walk(stmt))
        elif isinstance(root, ast.ClassDef):
            yield from (n for stmt in root.body if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                        for n in ast.walk(stmt))  # fmt: skip
        else:
            yield from ast.walk(root)


def needs_of(handler_path: Path, handler: str = "lambda_handler") -> Needs:
    graph = CodeGraph(handler_path)
    needs = Needs()
    for node_id, (module, code) in graph.reachable(handler).items():
        if module.name == TABLE_MODULE:
            continue
        nodes = list(_node_code(code))
        actions: set[str] = set()
        queries_index = False
        plain_query = False
        indexes: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr = node.func.attr
                keywords = {k.arg for k in node.keywords}
                needs.put_events |= attr == "put_events"
                needs.reads_stream |= attr in STREAM_CALLS
                if attr in TABLE_METHODS and _is_table(node.func.value):
                    actions.add(TABLE_METHODS[attr])
                    if attr == "query":
                        if "index" in keywords:
                            queries_index = True
                        else:
                            plain_query = True
                elif attr in CLIENT_ACTIONS:
                    actions.add(CLIENT_ACTIONS[attr])
                    if attr == "query" and "IndexName" not in keywords:
                        plain_query = True
                if attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                    op = str(node.args[0].value)
                    if op in CLIENT_ACTIONS:
                        actions.add(CLIENT_ACTIONS[op])
                if "IndexName" in keywords:
                    queries_index = True
            if isinstance(node, ast.Dict):
                for key in node.keys:
                    if isinstance(key, ast.Constant) and key.value in TRANSACT_ACTIONS:
                        actions.add(TRANSACT_ACTIONS[key.value])
                    if isinstance(key, ast.Constant) and key.value == "IndexName":
                        queries_index = True
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in INDEX_CONSTANTS and isinstance(getattr(node, "ctx", None), ast.Load):
                indexes.add(INDEX_CONSTANTS[name])
            if name == "DynamoDBPersistenceLayer":
                needs.idempotency = True
        if "Query" in actions and queries_index and not plain_query:
            # Paginated index queries: Query on the index, not on the table.
            actions.discard("Query")
            needs.indexes |= indexes
        elif "Query" in actions and queries_index:
            needs.indexes |= indexes
        needs.table_actions |= actions
        for action in actions | {f"Query:{i}" for i in (indexes if queries_index else ())}:
            needs.where.setdefault(action, set()).add(node_id)
    return needs


# ---------------------------------------------------------------------------------------------------- template


def _statements(function: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in function.get("Properties", {}).get("Policies") or []:
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_name(resource: Any) -> str:
    """`!GetAtt SlackTable.Arn` -> "SlackTable";
    `!Sub "${SlackTable.Arn}/index/ByTeam"` -> "SlackTable/index/ByTeam"."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        return (target.split(".")[0] if isinstance(target, str) else target[0])
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"] if isinstance(resource["Fn::Sub"], str) else resource["Fn::Sub"][0]
        return text.replace("${", "").replace(".Arn}", "")
    return str(resource)


def granted(function: dict[str, Any]) -> dict[str, set[str]]:
    """Resource ("SlackTable", "SlackTable/index/ByTeam", "IdempotencyTable") -> DynamoDB actions allowed."""
    result: dict[str, set[str]] = {}
    for statement in _statements(function):
        actions = [a for a in _as_list(statement.get("Action")) if str(a).startswith("dynamodb:")]
        if statement.get("Effect") != "Allow" or not actions:
            continue
        for resource in _as_list(statement.get("Resource")):
            result.setdefault(_resource_name(resource), set()).update(a.split(":", 1)[1] for a in actions)
    return result


TEMPLATE = Template.load()
FUNCTIONS = TEMPLATE.resources_of_type("AWS::Serverless::Function")
STREAM_MAPPINGS = TEMPLATE.resources_of_type("AWS::Lambda::EventSourceMapping")


def consumes_table_stream(logical_id: str) -> bool:
    """An event source mapping feeds SlackTable's stream to this function."""
    return any(mapping["Properties"].get("FunctionName") == {"Ref": logical_id}
               and mapping["Properties"].get("EventSourceArn") == {"Fn::GetAtt": ["SlackTable", "StreamArn"]}
               for mapping in STREAM_MAPPINGS.values())  # fmt: skip


def handler_path(function: dict[str, Any]) -> Path:
    return REPO / function["Properties"]["CodeUri"] / "app.py"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_dynamodb_permissions_are_exactly_what_the_code_calls(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    needs = needs_of(handler_path(function))
    allowed = granted(function)
    expected: dict[str, set[str]] = {}
    if needs.table_actions:
        expected["SlackTable"] = needs.table_actions
    for index in needs.indexes:
        expected[f"SlackTable/index/{index}"] = {"Query"}
    if needs.idempotency:
        expected["IdempotencyTable"] = IDEMPOTENCY_ACTIONS
    if needs.reads_stream or consumes_table_stream(logical_id):
        expected["SlackTable/stream/*"] = STREAM_ACTIONS
    assert allowed == expected, (
        f"{logical_id}: the template allows {allowed}, the code needs {expected}; where: "
        + "; ".join(f"{a}: {sorted(w)[:4]}" for a, w in sorted(needs.where.items()))
    )


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_only_the_code_that_puts_events_may_and_only_on_the_engine_bus(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    needs = needs_of(handler_path(function))
    put = [s for s in _statements(function) if "events:PutEvents" in str(s.get("Action"))]
    env = (function["Properties"].get("Environment") or {}).get("Variables") or {}
    if needs.put_events:
        assert [s["Resource"] for s in put] == [{"Fn::GetAtt": ["EngineEventBus", "Arn"]}], logical_id
        assert env.get("ENGINE_EVENT_BUS_NAME") == {"Ref": "EngineEventBus"}, logical_id
    else:
        assert not put and "ENGINE_EVENT_BUS_NAME" not in env, logical_id


def test_the_stream_consumer_gets_the_stream_through_a_plain_mapping() -> None:
    """A SAM `DynamoDB` event would attach AWSLambdaDynamoDBExecutionRole: every stream of the account."""
    for logical_id, function in FUNCTIONS.items():
        kinds = {event.get("Type") for event in (function["Properties"].get("Events") or {}).values()}
        assert "DynamoDB" not in kinds, logical_id
    assert [lid for lid in FUNCTIONS if consumes_table_stream(lid)] == ["EngineEventsFunction"]


def test_no_function_keeps_a_sam_dynamodb_policy_template() -> None:
    """DynamoDBCrudPolicy/DynamoDBReadPolicy allow Scan, BatchWriteItem and every index: nobody needs those."""
    for logical_id, function in FUNCTIONS.items():
        for policy in function["Properties"].get("Policies") or []:
            if isinstance(policy, dict):
                assert not any(k.startswith("DynamoDB") for k in policy), (logical_id, policy)


def test_the_analysis_sees_the_calls_it_must_see() -> None:
    """Guards the analysis itself: known calls of known handlers are found."""
    feedback = needs_of(REPO / "functions" / "feedback" / "app.py")
    assert {"TransactWriteItems", "ConditionCheckItem"} <= feedback.table_actions
    digest = needs_of(REPO / "functions" / "daily_digest" / "app.py")
    assert digest.indexes == {"ActiveInstallations"} and digest.idempotency
    publisher = needs_of(REPO / "functions" / "engine_events" / "app.py")
    assert publisher.put_events and publisher.reads_stream and not publisher.table_actions
    assert not feedback.put_events


if __name__ == "__main__":
    for lid, fn in sorted(FUNCTIONS.items()):
        n = needs_of(handler_path(fn))
        print(f"{lid:28} table={sorted(n.table_actions)} indexes={sorted(n.indexes)} idempotency={n.idempotency} "
              f"put_events={n.put_events} stream={n.reads_stream}")
