"""What every Relay system shares: configuration, errors, identity, rate limits, clients."""
