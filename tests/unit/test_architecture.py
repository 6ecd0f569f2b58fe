"""The shared package's layering, as docs/ARCHITECTURE.md draws it, checked on the code itself (read, not run).

A package may import only what its row in ALLOWED names; imports sit at module level; exactly one module posts or
edits Slack messages and only `storage` touches DynamoDB; no module is named like a test or a standard-library
module; at most six modules sit at the package root.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "shared" / "python" / "sre_slack"
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

# Layer -> the first-party layers it may import (besides itself). Third-party rules follow.
ALLOWED: dict[str, set[str]] = {
    "contracts": set(),
    "domain": {"contracts"},
    "blocks": {"contracts", "domain"},
    "storage": {"contracts", "domain", "aws", "observability"},
    "slack": {"contracts", "domain", "storage", "aws", "observability", "blocks", "container"},
    "queues": {"contracts", "aws", "observability"},
    "engine_bus": {"contracts", "aws", "observability"},
    "services": {"contracts", "domain", "blocks", "storage", "slack", "queues", "engine_bus", "aws", "observability"},
    "api": {"contracts", "domain", "services", "slack", "observability"},
    "aws": set(),
    "observability": set(),
    "container": {"contracts", "aws"},
}
# What `api` may use of `slack`: the signing middleware and the failure type it maps to an answer.
API_SLACK_MODULES = {"sre_slack.slack.signing", "sre_slack.slack.errors"}
# Third-party packages a pure layer must not import.
IO_PACKAGES = {"boto3", "botocore", "slack_sdk", "aws_lambda_powertools", "urllib", "http", "socket"}
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "contracts": {"boto3", "botocore", "slack_sdk"},
    "domain": IO_PACKAGES,
    "blocks": IO_PACKAGES - {"slack_sdk"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imports(tree: ast.Module) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in the file."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found += [(name, node.lineno, id(node) in top) for name in names]
    return found


def _first_party_layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "sre_slack" and len(parts) > 1 else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_layer_may(path: Path) -> None:
    layer = _layer(path)
    if layer == "__init__":
        return
    tree = ast.parse(path.read_text())
    for name, line, _module_level in _imports(tree):
        target = _first_party_layer(name)
        if target is not None and target != layer:
            assert target in ALLOWED[layer], f"{path.name}:{line}: {layer} may not import {name}"
            if layer == "api" and target == "slack":
                assert any(name.startswith(m) for m in API_SLACK_MODULES), f"{path.name}:{line}: api imports {name}"
        assert name.split(".")[0] not in FORBIDDEN_THIRD_PARTY.get(layer, set()), \
            f"{path.name}:{line}: {layer} is pure and may not import {name}"


@pytest.mark.parametrize("path", [*_modules(), *sorted(FUNCTIONS.glob("*/app.py"))], ids=str)
def test_imports_sit_at_module_level(path: Path) -> None:
    """An import inside a function hides the layering: allowed only with its measured cold-start reason, a
    comment just above it that cites bench/cold_start.py."""
    source = path.read_text()
    tree = ast.parse(source)
    inner = [(name, line) for name, line, module_level in _imports(tree) if not module_level
             and not _in_optional_block(tree, line) and not _measured_reason_above(source, line)]
    assert inner == [], f"{path}: imports inside functions: {inner}"


def _measured_reason_above(source: str, line: int) -> bool:
    above = source.splitlines()[max(0, line - 5):line - 1]
    return any(text.strip().startswith("#") and "bench/cold_start.py" in text for text in above)


def _in_optional_block(tree: ast.Module, line: int) -> bool:
    # `try: import x / except ImportError:` at module level (an optional runtime module) is module level too.
    for node in tree.body:
        if isinstance(node, ast.Try) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return True
    return False


def _calls(path: Path, *attributes: str) -> list[int]:
    tree = ast.parse(path.read_text())
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr in attributes]


def test_exactly_one_module_posts_or_edits_slack_messages() -> None:
    posting = {p.relative_to(PACKAGE).as_posix() for p in _modules() if _calls(p, "chat_postMessage", "chat_update")}
    assert posting == {"slack/poster.py"}


def test_exactly_one_module_puts_events_on_the_bus() -> None:
    assert {p.relative_to(PACKAGE).as_posix() for p in _modules() if _calls(p, "put_events")} == {
        "engine_bus/publisher.py"}


def test_only_storage_talks_to_dynamodb() -> None:
    calls = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items", "batch_write_item",
             "scan")
    touching = {_layer(p) for p in _modules() if _calls(p, *calls)}
    assert touching == {"storage"}
    for path in _modules():
        if _layer(path) != "storage":
            assert '"dynamodb"' not in path.read_text().replace('("dynamodb", "sqs", "kms", "events")', ""), path


def test_no_module_is_named_like_a_test_or_the_standard_library() -> None:
    for path in _modules():
        for part in path.relative_to(PACKAGE).with_suffix("").parts:
            assert not part.startswith("test"), path
            assert part not in sys.stdlib_module_names, path


def test_at_most_six_modules_at_the_package_root() -> None:
    assert len(list(PACKAGE.glob("*.py"))) <= 6
