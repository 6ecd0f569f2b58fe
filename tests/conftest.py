"""Shared by every tier. Heavy fixtures (moto, the Slack stand-in) live in `tests.fixtures` and are only loaded by
the tiers that use them: the unit tier never imports moto.

The session logs at DEBUG into .test-logs/ (`make test`), and `make security` scans that file for Slack tokens
and the stand-in's secrets. The libraries that would log request bodies are held where the functions hold them.
"""

from sre_slack.observability import quiet_libraries

quiet_libraries()
