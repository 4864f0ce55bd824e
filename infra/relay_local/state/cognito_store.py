"""Cognito's state as moto keeps it, and as the journal keeps it across restarts.

Moto holds user pools in memory and gives each pool, client and user a random
id. Here the template's pools and clients are made under their stable ids
(`template.names`), and every change to a pool's users and sign-in sessions is
journaled as the state it left, not as the call that made it: a replayed SignUp
would give the user a new `sub`, and every item stored under the old one would be
orphaned. So after each Cognito call that can change something, `sync` compares
each user and session of the pool with what the journal last said and appends
what differs (`relay.CognitoUser`, `relay.CognitoUserGone`, `relay.CognitoSession`,
`relay.CognitoRevoked`); `restore` puts them back into moto at start and
`snapshot` writes the compacted form.

Beside moto's own fields a user record carries what moto lacks: the verification
and reset codes it was sent, and its password as a salted hash (`PasswordHash`),
so that the state dir holds no password in the clear. Sessions are moto's
refresh tokens; a revoked one is remembered by its origin (`origin_jti`, which
every access token of that session carries) until its access tokens have expired.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from relay_local.state.journal import Journal
from relay_local.template.loader import ACCOUNT_ID, REGION
from relay_local.template.model import StackModel, UserPoolClientSpec, UserPoolSpec

USER = "relay.CognitoUser"
USER_GONE = "relay.CognitoUserGone"
SESSION = "relay.CognitoSession"
REVOKED = "relay.CognitoRevoked"
RECORDS = frozenset({USER, USER_GONE, SESSION, REVOKED})

# The longest an access or ID token lives (Cognito allows at most a day): a revoked
# session's origin is kept that long, then compacted away.
MAX_ACCESS_TOKEN_S = 86400
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
# Cognito's defaults: access and ID tokens an hour, refresh tokens 30 days.
_DEFAULT_VALIDITY = {"AccessToken": 3600, "IdToken": 3600, "RefreshToken": 30 * 86400}
_DEFAULT_UNITS = {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
_VALIDITY_PROPERTY = {
    "AccessToken": "AccessTokenValidity",
    "IdToken": "IdTokenValidity",
    "RefreshToken": "RefreshTokenValidity",
}

_HASH_ITERATIONS = 20_000
_TOKEN_KIND = {"access": "AccessToken", "id": "IdToken"}  # moto's token_use -> validity


class PasswordHash:
    """A password as the journal keeps it: PBKDF2-SHA256 with a salt of its own. Moto
    compares `user.password != attempt`; this compares by hashing the attempt."""

    def __init__(self, salt: bytes, digest: bytes) -> None:
        self.salt = salt
        self.digest = digest

    @classmethod
    def of(cls, password: str) -> PasswordHash:
        salt = secrets.token_bytes(16)
        return cls(salt, _pbkdf2(password, salt))

    @classmethod
    def decode(cls, text: str) -> PasswordHash:
        salt, digest = (base64.b64decode(part) for part in text.split("$", 1))
        return cls(salt, digest)

    def encode(self) -> str:
        return f"{base64.b64encode(self.salt).decode()}${base64.b64encode(self.digest).decode()}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PasswordHash):
            return self.salt == other.salt and self.digest == other.digest
        if not isinstance(other, str):
            return False
        return hmac.compare_digest(_pbkdf2(other, self.salt), self.digest)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def _pbkdf2(password: str, salt: bytes) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.pbkdf2_hmac("sha256", data, salt, _HASH_ITERATIONS)


def backend() -> Any:
    """Moto's Cognito for the local account and region."""
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[ACCOUNT_ID][REGION]


def token_validity(client_config: dict[str, Any], token: str) -> int:
    """Seconds a client's tokens of one kind live (AccessToken, IdToken, RefreshToken)."""
    value = client_config.get(_VALIDITY_PROPERTY[token])
    if value in (None, ""):
        return _DEFAULT_VALIDITY[token]
    units = (client_config.get("TokenValidityUnits") or {}).get(token) or _DEFAULT_UNITS[token]
    return int(value) * _UNITS.get(str(units), 3600)


_patched = False
_patch_lock = threading.Lock()


def install() -> None:
    """Make moto's tokens live as long as the app client says (moto: always an hour)."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto.cognitoidp.models import CognitoIdpUserPool

        original = CognitoIdpUserPool.create_jwt

        def create_jwt(
            self: Any,
            client_id: str,
            username: str,
            token_use: str,
            expires_in: int = 60 * 60,
            extra_data: dict[str, Any] | None = None,
        ) -> tuple[str, int]:
            client = self.clients.get(client_id)
            if client is not None:
                kind = _TOKEN_KIND.get(token_use, "AccessToken")
                expires_in = token_validity(client.extended_config, kind)
            if _TOKEN_KIND.get(token_use) == "IdToken":
                extra_data = {**_id_claims(self, client, username), **(extra_data or {})}
            result: tuple[str, int] = original(
                self, client_id, username, token_use, expires_in, extra_data
            )
            return result

        CognitoIdpUserPool.create_jwt = create_jwt  # type: ignore[method-assign]
        _patched = True


def _id_claims(pool: Any, client: Any, username: str) -> dict[str, Any]:
    """The user's attributes an ID token carries, as Cognito puts them: every attribute the
    client may read (all of them when it names none), `*_verified` as booleans. Moto puts
    the username it was called with in `email`, which is the sub for email usernames."""
    user = pool._get_user(username)
    if user is None:
        return {}
    readable = set((client.extended_config.get("ReadAttributes") or []) if client else [])
    claims: dict[str, Any] = {}
    for name, value in user.attribute_lookup.items():
        if name == "sub" or (readable and name not in readable):
            continue
        claims[name] = value == "true" if name.endswith("_verified") else value
    return claims


def ensure_pools(model: StackModel) -> None:
    """The template's pools, clients and groups in moto, under their stable ids (idempotent:
    what exists is updated to the template, clients and groups it dropped are removed)."""
    from moto.cognitoidp.models import CognitoIdpGroup, CognitoIdpUserPoolClient

    cognito = backend()
    for spec in model.user_pools.values():
        pool = cognito.user_pools.get(spec.id)
        if pool is None:
            pool = cognito.create_user_pool(spec.name, json.loads(json.dumps(spec.properties)))
            del cognito.user_pools[pool.id]
            pool.id = spec.id
            pool.arn = spec.arn
            cognito.user_pools[spec.id] = pool
        else:
            pool.name = spec.name
            pool.update_extended_config(json.loads(json.dumps(spec.properties)))
        clients = [c for c in model.user_pool_clients.values() if c.pool == spec.logical_id]
        for client_spec in clients:
            config = {"ClientName": client_spec.name, **client_spec.properties}
            client = pool.clients.get(client_spec.id)
            if client is None:
                client = CognitoIdpUserPoolClient(pool.id, False, config)
                client.id = client_spec.id
                pool.clients[client.id] = client
            else:
                client.extended_config.update(config)
        for stale in set(pool.clients) - {c.id for c in clients}:
            del pool.clients[stale]
        groups = [g for g in model.user_pool_groups.values() if g.pool == spec.logical_id]
        for group_spec in groups:
            group = pool.groups.get(group_spec.name)
            if group is None:
                # RoleArn and Precedence are None when the template gives none, as on AWS.
                make_group: Any = CognitoIdpGroup
                pool.groups[group_spec.name] = make_group(
                    pool.id, group_spec.name, group_spec.description, None, group_spec.precedence
                )
            else:
                group.update(group_spec.description, None, group_spec.precedence)
        for stale in set(pool.groups) - {g.name for g in groups}:
            for user in pool.groups[stale].users:
                user.groups.discard(pool.groups[stale])
            del pool.groups[stale]


@dataclass
class Code:
    """A code sent to a person: to confirm sign-up (`signup`) or reset a password (`reset`)."""

    code: str
    expires: float


def _epoch(moment: datetime.datetime) -> float:
    return moment.replace(tzinfo=datetime.UTC).timestamp()


def _moment(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).replace(tzinfo=None)


class CognitoStore:
    """The pools' users, sessions and codes: kept in step with the journal."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()  # one Cognito change at a time: moto's models are shared
        self.journal: Journal | None = None
        self.codes: dict[tuple[str, str], dict[str, Code]] = {}  # (pool id, sub) -> purpose
        self._users: dict[str, dict[str, dict[str, Any]]] = {}  # pool id -> sub -> record
        self._sessions: dict[str, dict[str, dict[str, Any]]] = {}  # pool -> refresh -> session
        # pool id -> origin_jti of an ended session -> when it ended; and its refresh token
        self.revoked: dict[str, dict[str, float]] = {}
        self.ended: dict[str, dict[str, tuple[str, float]]] = {}

    # --- a pool's state, journaled as it changes

    def sync(self, pool: Any) -> None:
        """Journal what changed in `pool` since the last sync (call under `lock`)."""
        now = self.clock()
        known = self._users.setdefault(pool.id, {})
        current = {user.id: self._user_record(pool, user) for user in list(pool.users.values())}
        for sub, record in current.items():
            if known.get(sub) != record:
                known[sub] = record
                self._append({"t": USER, "p": pool.id, "u": record})
        for sub in set(known) - set(current):
            del known[sub]
            self.codes.pop((pool.id, sub), None)
            self._append({"t": USER_GONE, "p": pool.id, "sub": sub})
        sessions = self._sessions.setdefault(pool.id, {})
        for token, value in list(pool.refresh_tokens.items()):
            user = None if value is None else self.user_of(pool, value[1])
            if user is None:
                # Revoked by moto itself, or its user is gone: the session ends with them.
                self._end(pool, token, now)
            elif token not in sessions:
                client_id, _, origin = value
                session = {"c": client_id, "u": user.username, "o": origin, "at": now}
                sessions[token] = session
                self._append({"t": SESSION, "p": pool.id, "r": token, **session})
        for token in set(sessions) - set(pool.refresh_tokens):
            self._end(pool, token, now)

    def sign_out(self, pool: Any, user: Any) -> None:
        """End every session of `user` (GlobalSignOut): its refresh tokens stop working and
        its access tokens are refused by Cognito's own API from now on."""
        now = self.clock()
        for token, value in list(pool.refresh_tokens.items()):
            if value is not None and self.user_of(pool, value[1]) is user:
                self._end(pool, token, now, origin=value[2])
        for tokens in (pool.access_tokens, pool.id_tokens):
            for token, (_, username) in list(tokens.items()):
                if self.user_of(pool, username) is user:
                    tokens.pop(token, None)

    def revoke_refresh_token(self, pool: Any, token: str) -> None:
        """RevokeToken: one session ends."""
        value = pool.refresh_tokens.get(token)
        self._end(pool, token, self.clock(), origin=None if value is None else value[2])

    def _end(self, pool: Any, token: str, now: float, origin: str | None = None) -> None:
        pool.refresh_tokens.pop(token, None)
        session = self._sessions.get(pool.id, {}).pop(token, None)
        origin = origin or (None if session is None else session["o"])
        if origin is None:
            return
        self.revoked.setdefault(pool.id, {})[origin] = now
        self.ended.setdefault(pool.id, {})[token] = (origin, now)
        self._append({"t": REVOKED, "p": pool.id, "o": origin, "r": token, "at": now})

    def is_revoked(self, pool: Any, origin: Any) -> bool:
        return isinstance(origin, str) and origin in self.revoked.get(pool.id, {})

    def has_ended(self, pool: Any, refresh_token: Any) -> bool:
        return isinstance(refresh_token, str) and refresh_token in self.ended.get(pool.id, {})

    def session_created(self, pool: Any, token: str) -> float | None:
        session = self._sessions.get(pool.id, {}).get(token)
        return None if session is None else float(session["at"])

    @staticmethod
    def user_of(pool: Any, username: str) -> Any | None:
        """The user a stored username names (moto keeps what the caller typed)."""
        user = pool.users.get(username)
        return user if user is not None else pool._get_user(username)

    def _user_record(self, pool: Any, user: Any) -> dict[str, Any]:
        password = user.password
        if isinstance(password, str):
            password = user.password = PasswordHash.of(password)
        codes = self.codes.get((pool.id, user.id), {})
        return {
            "username": user.username,
            "sub": user.id,
            "password": password.encode() if isinstance(password, PasswordHash) else None,
            "status": str(getattr(user.status, "value", user.status)),
            "enabled": bool(user.enabled),
            "attributes": [dict(a) for a in user.attributes],
            "groups": sorted(group.group_name for group in user.groups),
            "created": _epoch(user.create_date),
            "modified": _epoch(user.last_modified_date),
            "codes": {k: {"code": c.code, "expires": c.expires} for k, c in sorted(codes.items())},
        }

    def _append(self, record: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.append(record)

    # --- replay and compaction

    def restore(self, record: dict[str, Any]) -> None:
        """Apply one journal record to moto (pools not in the template are passed over)."""
        pool = backend().user_pools.get(record.get("p"))
        if pool is None:
            return
        kind = record["t"]
        if kind == USER:
            self._restore_user(pool, record["u"])
        elif kind == USER_GONE:
            user = next((u for u in pool.users.values() if u.id == record["sub"]), None)
            if user is not None:
                for group in list(user.groups):
                    group.users.discard(user)
                del pool.users[user.username]
            self._users.get(pool.id, {}).pop(record["sub"], None)
            self.codes.pop((pool.id, record["sub"]), None)
        elif kind == SESSION:
            if pool.users.get(record["u"]) is not None:
                pool.refresh_tokens[record["r"]] = (record["c"], record["u"], record["o"])
                self._sessions.setdefault(pool.id, {})[record["r"]] = {
                    k: record[k] for k in ("c", "u", "o", "at")
                }
        elif kind == REVOKED:
            self.revoked.setdefault(pool.id, {})[record["o"]] = float(record["at"])
            if record.get("r"):
                ended = (record["o"], float(record["at"]))
                self.ended.setdefault(pool.id, {})[record["r"]] = ended
            sessions = self._sessions.get(pool.id, {})
            for token, session in list(sessions.items()):
                if session["o"] == record["o"]:
                    del sessions[token]
                    pool.refresh_tokens.pop(token, None)

    def _restore_user(self, pool: Any, data: dict[str, Any]) -> None:
        from moto.cognitoidp.models import CognitoIdpUser, UserStatus
        from moto.cognitoidp.utils import flatten_attrs

        previous = next((u for u in pool.users.values() if u.id == data["sub"]), None)
        if previous is not None:
            for group in list(previous.groups):
                group.users.discard(previous)
            del pool.users[previous.username]
        password = PasswordHash.decode(data["password"]) if data.get("password") else None
        user: Any = CognitoIdpUser(
            pool.id, data["username"], None, UserStatus(data["status"]), data["attributes"]
        )
        user.id = data["sub"]
        user.password = password
        user.enabled = bool(data["enabled"])
        user.attributes = [dict(a) for a in data["attributes"]]
        user.attribute_lookup = flatten_attrs(user.attributes)
        user.create_date = _moment(float(data["created"]))
        user.last_modified_date = _moment(float(data["modified"]))
        for name in data.get("groups", []):
            group = pool.groups.get(name)
            if group is not None:
                group.users.add(user)
                user.groups.add(group)
        pool.users[user.username] = user
        self.codes[(pool.id, user.id)] = {
            purpose: Code(str(c["code"]), float(c["expires"]))
            for purpose, c in (data.get("codes") or {}).items()
        }
        self._users.setdefault(pool.id, {})[user.id] = self._user_record(pool, user)

    def snapshot(self, pool_ids: Iterable[str]) -> Iterable[dict[str, Any]]:
        """The compacted journal of the pools: one record per user, live session and
        revocation still within an access token's life."""
        now = self.clock()
        cognito = backend()
        for pool_id in pool_ids:
            pool = cognito.user_pools.get(pool_id)
            if pool is None:
                continue
            for user in pool.users.values():
                yield {"t": USER, "p": pool_id, "u": self._user_record(pool, user)}
            for token, session in self._sessions.get(pool_id, {}).items():
                yield {"t": SESSION, "p": pool_id, "r": token, **session}
            for token, (origin, at) in self.ended.get(pool_id, {}).items():
                if now - at < MAX_ACCESS_TOKEN_S:
                    yield {"t": REVOKED, "p": pool_id, "o": origin, "r": token, "at": at}


def pool_spec_of(model: StackModel, pool_id: str) -> UserPoolSpec | None:
    return next((p for p in model.user_pools.values() if p.id == pool_id), None)


def client_spec_of(model: StackModel, client_id: str) -> UserPoolClientSpec | None:
    return next((c for c in model.user_pool_clients.values() if c.id == client_id), None)
