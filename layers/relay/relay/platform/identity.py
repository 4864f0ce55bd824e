"""Who is calling. Kept apart from token verification so that functions that only read
the authorizer's verdict never import PyJWT (and the cryptography it brings)."""

from __future__ import annotations

from dataclasses import dataclass

from relay.platform.errors import Unauthorized


@dataclass(frozen=True)
class Caller:
    """A user id when a valid token came with the request, and the source IP."""

    user_id: str | None
    source_ip: str

    def require_user(self) -> str:
        if self.user_id is None:
            raise Unauthorized("This needs a bearer token: Authorization: Bearer <token>.")
        return self.user_id
