"""Boundary models: what crosses into or out of the integration (SQS messages, routing document, Slack
payloads, settings)."""
