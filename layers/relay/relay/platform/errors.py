"""The one family of errors Relay's domain raises, each with its HTTP status and code.

Domain code raises these; one exception handler (`relay.platform.http`) turns them
into DESIGN's error body `{"error": {"code", "message"}}` (and the redirect, which
skips the resolver, uses the same translation in `relay.platform.responses`).
Handlers never build error bodies by hand.
"""

from __future__ import annotations


class RelayError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class Invalid(RelayError):
    status = 400
    code = "invalid_request"


class Unauthorized(RelayError):
    status = 401
    code = "unauthorized"


class Forbidden(RelayError):
    status = 403
    code = "forbidden"


class NotFound(RelayError):
    status = 404
    code = "not_found"


class Conflict(RelayError):
    status = 409
    code = "conflict"


class Gone(RelayError):
    status = 410
    code = "gone"


class TooLarge(RelayError):
    status = 413
    code = "too_large"


class RateLimited(RelayError):
    status = 429
    code = "rate_limited"


class Unexpected(RelayError):
    """Not the client's doing: what an unexpected exception becomes, once it is logged."""

    status = 500
    code = "internal_error"

    @classmethod
    def during(cls, request_id: str) -> Unexpected:
        return cls(f"Something broke on our side (request {request_id}).")
