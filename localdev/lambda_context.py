"""Stand-in for the `context` object Lambda passes to a Python handler."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localdev.aws import Deployment


class LambdaContext:
    """The attributes and method of Lambda's Python context that handlers and Powertools read.

    The deadline starts when the context is built, as Lambda's does when the invocation starts.
    """

    def __init__(
        self,
        *,
        function_name: str,
        memory_limit_in_mb: int,
        invoked_function_arn: str,
        timeout_seconds: float,
        aws_request_id: str | None = None,
        function_version: str = "$LATEST",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[{function_version}]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self._clock = clock
        self._deadline = clock() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))

    @classmethod
    def for_function(cls, deployment: Deployment, logical_id: str) -> LambdaContext:
        """A fresh context (new request id, full timeout) for one invocation of a template function."""
        spec = deployment.template.function(logical_id)
        return cls(
            function_name=deployment.function_name(logical_id),
            memory_limit_in_mb=spec.memory,
            invoked_function_arn=deployment.function_arn(logical_id),
            timeout_seconds=spec.timeout,
        )

    def __repr__(self) -> str:
        return f"LambdaContext({self.function_name!r}, request_id={self.aws_request_id!r})"
