"""Loads and invokes the functions' handlers the way the Lambda Python runtime does, all in one process.

Every function has its own `app.py`; each is imported from its file under a module name of its own, so they
never collide in `sys.modules`. A handler module is imported on first use only: functions that do not exist
yet cost nothing until something invokes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from localdev.lambda_context import LambdaContext
from localdev.template import REPO_ROOT, Template

if TYPE_CHECKING:
    from localdev.aws import Deployment

DEFAULT_FUNCTIONS_ROOT = REPO_ROOT / "functions"

Handler = Callable[[dict[str, Any], Any], Any]

# os.environ is process-wide while each Lambda function has its own environment: invocations take turns so
# that a handler always runs with exactly its function's variables. Local traffic is light; this is cheap.
_INVOCATION_LOCK = threading.RLock()
_CACHE_LOCK = threading.Lock()
_handlers: dict[tuple[Path, str], Handler] = {}


class HandlerNotFound(FileNotFoundError):
    """The function's code (module file or handler attribute) does not exist (Runtime.ImportModuleError)."""


class ResponseNotSerializable(TypeError):
    """The handler returned something Lambda cannot turn into JSON (Runtime.MarshalError)."""


def function_directory(code_uri_or_name: str | Path, functions_root: Path | None = None) -> Path:
    """`functions/oauth_callback/`, `oauth_callback` or an absolute folder -> the folder holding the code."""
    path = Path(str(code_uri_or_name).rstrip("/"))
    if functions_root is None and path.is_absolute():
        return path
    return (functions_root or DEFAULT_FUNCTIONS_ROOT) / path.name


def _module_name(file: Path) -> str:
    digest = hashlib.sha1(str(file).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"_localdev_lambda_{file.parent.name}_{file.stem}_{digest}"


def _import_file(file: Path, module_name: str, task_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise HandlerNotFound(f"cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    # Lambda puts the function's folder first on sys.path, so `import helpers` finds a sibling helpers.py.
    sys.path.insert(0, str(task_root))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(task_root))
    return module


def load_handler(
    code_uri_or_name: str | Path,
    *,
    handler: str = "app.lambda_handler",
    functions_root: Path | None = None,
    reload: bool = False,
) -> Handler:
    """The handler callable of a function folder (`Handler: app.lambda_handler` -> `app.py`'s function).

    Cached per file; `reload=True` executes the module again (for tests that change the environment that
    module-level code reads).
    """
    directory = function_directory(code_uri_or_name, functions_root)
    module_path, _, attribute = handler.rpartition(".")
    file = directory / (module_path.replace(".", "/") + ".py")
    key = (file, attribute)
    with _CACHE_LOCK:
        if not reload and key in _handlers:
            return _handlers[key]
        if not file.is_file():
            raise HandlerNotFound(f"no handler module {file} (Handler {handler!r})")
        module = _import_file(file, _module_name(file), directory)
        function = getattr(module, attribute, None)
        if not callable(function):
            raise HandlerNotFound(f"{file} has no callable {attribute!r} (Handler {handler!r})")
        _handlers[key] = function
        return function


def _forget_product_settings() -> None:
    # The product reads its settings once per container (Lambda's environment never changes); here several
    # functions share one process, so the cached settings are dropped whenever the environment switches.
    settings = sys.modules.get("sre_slack.contracts.settings")
    if settings is not None:
        settings.get_settings.cache_clear()


@contextlib.contextmanager
def apply_env(env: Mapping[str, str]) -> Iterator[None]:
    """Set these variables for the duration of the block, then restore exactly what was there before."""
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    _forget_product_settings()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget_product_settings()


def lambda_runtime_env(deployment: Deployment, logical_id: str) -> dict[str, str]:
    """What the Lambda runtime sets besides the template's variables, plus the function's own variables."""
    spec = deployment.template.function(logical_id)
    return {
        "AWS_REGION": deployment.region,
        "AWS_DEFAULT_REGION": deployment.region,
        "AWS_LAMBDA_FUNCTION_NAME": deployment.function_name(logical_id),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{deployment.function_name(logical_id)}",
        "_HANDLER": spec.handler,
        # Tracing: Active needs the X-Ray daemon, which only exists inside Lambda.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **deployment.function_env(logical_id),
    }


def invoke_handler(handler: Handler, event: dict[str, Any], *, env: Mapping[str, str], context: Any) -> Any:
    """Call a handler as Lambda does: event and result cross a JSON boundary, the environment is the
    function's own. Exceptions propagate (the caller decides: 500 at the gateway, batch failure in the pump).
    """
    payload = json.loads(json.dumps(event))
    with _INVOCATION_LOCK, apply_env(env):
        result = handler(payload, context)
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise ResponseNotSerializable(f"Unable to marshal response: {exc}") from exc


def ensure_layers_on_path(template: Template) -> None:
    """Lambda puts each layer's `python/` folder on sys.path; do the same for the template's source layers."""
    for folder in template.layer_directories():
        if str(folder) not in sys.path:
            sys.path.append(str(folder))


@dataclass
class LocalFunctions:
    """The template's functions, invocable by logical id with their resolved environment and a fresh context."""

    template: Template
    deployment: Deployment
    functions_root: Path | None = None

    def __post_init__(self) -> None:
        ensure_layers_on_path(self.template)

    def handler(self, logical_id: str, *, reload: bool = False) -> Handler:
        spec = self.template.function(logical_id)
        return load_handler(spec.code_uri, handler=spec.handler, functions_root=self.functions_root, reload=reload)

    def env(self, logical_id: str) -> dict[str, str]:
        return lambda_runtime_env(self.deployment, logical_id)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke once; a handler that runs past the function's Timeout is reported (Lambda would kill it)."""
        env = self.env(logical_id)
        started = time.monotonic()
        try:
            # The module is imported (Lambda's INIT) with the function's environment, as module-level code
            # such as Powertools' Logger reads it there.
            with _INVOCATION_LOCK, apply_env(env):
                handler = self.handler(logical_id)
                context = LambdaContext.for_function(self.deployment, logical_id)
                return invoke_handler(handler, event, env=env, context=context)
        finally:
            elapsed = time.monotonic() - started
            timeout = self.template.function(logical_id).timeout
            if elapsed > timeout:
                print(
                    f"[localdev] {logical_id} ran {elapsed:.1f} s, past its Timeout of {timeout} s: "
                    "in AWS this invocation would have been killed",
                    file=sys.stderr,
                )


def print_invocation_error(logical_id: str, exc: BaseException) -> None:
    """Tracebacks go to the console, like CloudWatch Logs; never into the HTTP answer."""
    print(f"[localdev] {logical_id} failed:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
