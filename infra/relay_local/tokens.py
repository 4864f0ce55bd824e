"""The local token signing secret and `relay token`'s JWTs.

On AWS the secret lives in Secrets Manager; locally it is a random file in
the state dir, created once and readable only by its owner, handed to every
worker as `JWT_SECRET` so the template's authorizer accepts these tokens.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


def jwt_secret(state_dir: Path) -> str:
    path = state_dir / "jwt-secret"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two commands starting together must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(secret)
    return secret


def make_token(state_dir: Path, user: str, ttl_seconds: int) -> str:
    import jwt  # only here: every worker start reads the secret, few make tokens

    now = int(time.time())
    claims = {"sub": user, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, jwt_secret(state_dir), algorithm="HS256")
