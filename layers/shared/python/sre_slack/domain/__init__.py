"""Pure logic: no boto3, no slack_sdk, no I/O."""
