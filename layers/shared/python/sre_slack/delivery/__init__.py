"""Posting investigations to Slack exactly once: delivery records, Slack calls, pacing, the SQS pipeline."""
