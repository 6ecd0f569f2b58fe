"""SQS plumbing shared by the queue consumers."""
