"""Event sources that invoke functions without a client: SQS, log subscriptions, SNS, schedules, streams."""
