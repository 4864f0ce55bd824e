"""The gateways clients talk to: the HTTP API, the WebSocket API, their authorizers and event shapes."""
