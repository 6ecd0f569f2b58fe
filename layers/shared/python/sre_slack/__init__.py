"""Shared domain package of the Slack integration (deployed as a Lambda layer)."""
