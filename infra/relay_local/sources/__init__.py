"""Event sources that invoke functions without a client: SQS, logs, SNS, schedules, streams."""
