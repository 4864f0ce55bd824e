"""The gateways clients talk to: the HTTP API and the WebSocket API, their authorizers, events."""
