"""The template's own languages, checked when it is read and run by the sources.

SNS filter policies and event patterns (`sns_filters`), an event source's
FilterCriteria (`event_filters`), CloudWatch Logs filter patterns
(`log_patterns`) and schedule expressions (`schedule_expressions`).
"""
