"""Accounts' entities: a person as Relay knows them.

`sub` is Cognito's stable user id, the key everything is stored under; `handle` is the
name people type and paths use, and may change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    sub: str
    handle: str
    display_name: str = ""
    bio: str = ""
    avatar_key: str = ""
    created_ms: int = 0
