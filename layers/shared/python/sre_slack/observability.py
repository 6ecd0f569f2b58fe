"""Structured logging and metrics for every function, with secrets redacted at the last moment.

Redaction happens on the serialized record, so a token can leak neither through the message, an `extra`
field, an exception text nor a library's log line that reaches our handler.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# Slack tokens (bot, user, app, config, rotating "xoxe." prefixed and refresh tokens), Slack's signature header
# value and bearer credentials.
_SECRET_PATTERNS = (
    re.compile(r"xox(?:e\.)?[a-z]-[A-Za-z0-9-]+"),
    re.compile(r"xoxe-\d-[A-Za-z0-9-]+"),
    re.compile(r"v0=[0-9a-f]{64}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\"?(?:client_secret|signing_secret|access_token|refresh_token|token)\"?\s*[:=]\s*\"?)"
               r"[^\"&,\s}]+"),
)


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() and m.group(1) else "") + "[REDACTED]", text)
    return text


class RedactingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# These libraries log request and response bodies at DEBUG (tokens, the credentials secret).
NOISY_LIBRARIES = ("slack_sdk", "botocore", "boto3", "urllib3")


def quiet_libraries() -> None:
    """Hold the libraries that log secrets at DEBUG to WARNING, even when someone turns the root logger up to
    DEBUG while chasing a problem."""
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def get_logger() -> Logger:
    quiet_libraries()
    return Logger(logger_formatter=RedactingFormatter(), utc=True)


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    # Many invocations legitimately record nothing (a redelivery, an ignored click): not worth a warning each.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    return Metrics()


_METRICS_LOCK = threading.Lock()


def count(name: str, value: int = 1) -> None:
    """Add to a count metric; safe from the worker threads of a batch (Powertools' metric set is not)."""
    with _METRICS_LOCK:
        get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name: str, dimension: str, value: str) -> None:
    """A count of 1 under its own dimension (e.g. FeedbackRating by rating), printed at once as its own EMF
    record: a dimension added to the shared metric set would apply to every other metric of the invocation."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name=dimension, value=value)

