"""Relay's local stack: runs template.yaml on a laptop, without Docker (`relay run`)."""
