"""Relay's domain package, shipped to Lambda as the RelayLayer.

`platform` holds what every system shares (configuration, errors, identity, rate
limits, clients); each system (`shortener`, ...) holds its own rules. Nothing here
knows about Lambda events: the functions under `functions/` adapt events to calls.
"""
