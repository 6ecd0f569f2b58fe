"""Shared by every tier. Heavy fixtures (moto, the Slack stand-in) live in `tests.fixtures` and are only loaded by
the tiers that use them: the unit tier never imports moto.

The session logs at DEBUG into .test-logs/ (`make test`), and `make security` scans that file for Slack tokens
and the stand-in's secrets. The libraries that would log request bodies are held where the functions hold them.
"""

import os
from pathlib import Path

import pytest

from sre_slack.observability import quiet_libraries

quiet_libraries()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Under pytest-xdist each worker writes its own log file, so that none truncates another's.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    log_file = config.getoption("log_file", None)
    if worker and log_file:
        path = Path(log_file)
        config.option.log_file = str(path.with_name(f"{path.stem}-{worker}{path.suffix}"))
