"""Cognito's JSON API in front of moto: what a client of a user pool needs, done as Cognito does it.

Every call whose `X-Amz-Target` is `AWSCognitoIdentityProviderService.<Op>` comes
here, on local AWS's own port (the functions' boto3 clients) and on the Cognito
endpoint `relay run` prints (curl, a browser's `fetch`: CORS is answered, as
cognito-idp's is). Moto keeps the pools and users; for a pool of the template this
adds what it lacks:

- sign-up with the template's triggers and codes by email (`cognito_sign_up`);
- sign-in as the app client allows it (its auth flows, `PreventUserExistenceErrors`,
  refresh tokens that expire and end at sign-out); `USER_SRP_AUTH` is refused,
  since moto would accept any proof;
- access tokens checked by signature, expiry and sign-out, so that a token stays
  good across restarts of the stack and stops at GlobalSignOut, as on AWS;
- usernames matched as the pool matches them (case-insensitive pools, emails);
- DeleteUser and RevokeToken, which moto lacks;
- each pool's JWKS and OpenID configuration at `/{poolId}/.well-known/...`.

Calls about other pools, and calls none of this concerns, go to moto as they are.
Every change is journaled as the state it left (`cognito_store`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

from relay_local.state.cognito_calls import (
    CORS,
    CognitoError,
    Pool,
    Triggers,
    check_shapes,
    error_answer,
    json_answer,
)
from relay_local.state.cognito_sign_up import SignUps
from relay_local.state.cognito_store import CognitoStore, backend, token_validity
from relay_local.state.outbox import Outbox
from relay_local.state.wire import Answer, AwsCall, WsgiApp, answer
from relay_local.template.model import StackModel

COGNITO = "AWSCognitoIdentityProviderService."
# Set in the environ of requests that came to the Cognito endpoint's own port.
COGNITO_PORT = "relay.cognito_port"

_WELL_KNOWN = re.compile(r"^/([\w-]+_[0-9A-Za-z]+)/\.well-known/(jwks\.json|openid-configuration)$")
# Calls that change nothing: no sync after them.
_READS = re.compile(r"^(Get|List|Describe|AdminGet|AdminList)")
# Each auth flow, and what the app client must allow for it.
_FLOWS = {
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
    "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
}

Handler = Callable[[Pool, dict[str, Any]], dict[str, Any]]


class CognitoIdp:
    """The middleware hook (`state.aws.Hook`) that serves Cognito's JSON API."""

    def __init__(
        self,
        moto: WsgiApp,
        store: CognitoStore,
        outbox: Outbox,
        triggers: Triggers | None,
    ) -> None:
        self.moto = moto
        self.store = store
        self.outbox = outbox
        self.sign_ups = SignUps(store, outbox, triggers)
        self.model = self.sign_ups.model
        self._handlers: dict[str, Handler] = {
            **self.sign_ups.handlers,
            "InitiateAuth": lambda pool, body: self._initiate_auth(pool, body, admin=False),
            "AdminInitiateAuth": lambda pool, body: self._initiate_auth(pool, body, admin=True),
            "GlobalSignOut": self._global_sign_out,
            "AdminUserGlobalSignOut": self._admin_global_sign_out,
            "RevokeToken": self._revoke_token,
            "DeleteUser": self._delete_user,
        }

    def apply(self, model: StackModel) -> None:
        self.model = self.sign_ups.model = model

    # --- the middleware hook

    def before(self, call: AwsCall) -> Answer | None:
        target = str(call.environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith(COGNITO):
            return self._operation(call, target.removeprefix(COGNITO))
        path = str(call.environ.get("PATH_INFO", ""))
        if call.method == "GET" and _WELL_KNOWN.match(path):
            return self._well_known(call, path)
        if not call.environ.get(COGNITO_PORT):
            return None
        if call.method == "OPTIONS":
            return self._preflight(call)
        return error_answer("UnknownOperationException", "")

    def after(self, call: AwsCall, status: str, response: bytes) -> None:
        return None

    def _preflight(self, call: AwsCall) -> Answer:
        requested = str(call.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        headers = [
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", requested or "content-type,x-amz-target"),
            ("Access-Control-Max-Age", "172800"),
            ("Content-Length", "0"),
        ]
        return "204 No Content", headers, b""

    def _well_known(self, call: AwsCall, path: str) -> Answer:
        match = _WELL_KNOWN.match(path)
        assert match is not None
        pool_id, document = match.groups()
        if backend().user_pools.get(pool_id) is None:
            return error_answer("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        if document == "jwks.json":
            from moto.utilities.utils import load_resource

            body = load_resource("cognitoidp/resources/jwks-public.json")
        else:
            host = str(call.environ.get("HTTP_HOST", "127.0.0.1"))
            body = {
                "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
                "jwks_uri": f"http://{host}/{pool_id}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["code", "token"],
            }
        return json_answer(body, content_type="application/json")

    # --- one call

    def _operation(self, call: AwsCall, operation: str) -> Answer:
        from moto.core.exceptions import JsonRESTError

        try:
            body = json.loads(call.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return error_answer("SerializationException", "The request body is not a JSON object.")
        try:
            check_shapes(operation, body)
            pool = self._template_pool(body)
            handler = self._handlers.get(operation)
            if handler is not None and pool is not None:
                return json_answer(handler(pool, body))
            return self._passthrough(call, operation, body, pool)
        except CognitoError as error:
            return error_answer(error.error_type, error.message, error.status)
        except JsonRESTError as error:
            return error_answer(error.error_type, error.message, int(error.code or 400))
        except NotImplementedError:
            return error_answer(
                "UnknownOperationException",
                f"{operation} is not an operation the local user pool (moto) serves",
            )
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            # Input moto could not take: a 400 that names it, never a 500.
            self.outbox.report(f"[relay] Cognito {operation}: {error!r}")
            return error_answer("InvalidParameterException", f"Invalid parameters: {error}")

    def _template_pool(self, body: dict[str, Any]) -> Pool | None:
        """The template pool a call is about (by ClientId, UserPoolId or AccessToken)."""
        cognito = backend()
        client_id = body.get("ClientId")
        if isinstance(client_id, str):
            clients = self.model.user_pool_clients.values()
            client = next((c for c in clients if c.id == client_id), None)
            if client is None:
                return None
            owner = self.model.user_pools[client.pool]
            pool = cognito.user_pools.get(owner.id)
            return None if pool is None else Pool(pool, owner, client)
        pool_id = body.get("UserPoolId")
        if not isinstance(pool_id, str):
            token = body.get("AccessToken")
            pool_id = _issuer_pool(token) if isinstance(token, str) else None
        spec = next((p for p in self.model.user_pools.values() if p.id == pool_id), None)
        pool = None if spec is None else cognito.user_pools.get(spec.id)
        return None if pool is None or spec is None else Pool(pool, spec, None)

    def _passthrough(
        self, call: AwsCall, operation: str, body: dict[str, Any], pool: Pool | None
    ) -> Answer:
        """Moto answers, after the username is matched as the pool matches it and an access
        token is checked as Cognito checks it; what changed is journaled."""
        environ = call.environ
        data = call.body
        if pool is not None:
            user = pool.user(body.get("Username"))
            if user is not None and user.username != body["Username"]:
                data = json.dumps({**body, "Username": user.username}).encode()
            if isinstance(body.get("AccessToken"), str):
                self._admit(pool, body["AccessToken"])
        environ = {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))}
        with self.store.lock:
            status, headers, payload = answer(self.moto, environ)
            if pool is not None and status.startswith("2") and not _READS.match(operation):
                self.store.sync(pool.moto)
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() != "content-length" and not k.lower().startswith("access-control-")
        ]
        return status, [*kept, ("Content-Length", str(len(payload))), *CORS], payload

    # --- sign-in

    def _initiate_auth(self, pool: Pool, body: dict[str, Any], admin: bool) -> dict[str, Any]:
        if pool.client is None:
            raise CognitoError("InvalidParameterException", "Missing required parameter ClientId")
        flow = body["AuthFlow"]
        if flow not in _FLOWS:
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy"
                f" constraint: Member must satisfy enum value set: {sorted(_FLOWS)}",
            )
        if _FLOWS[flow] not in pool.client.auth_flows and flow != "REFRESH_TOKEN":
            raise CognitoError(
                "InvalidParameterException", f"{flow} flow not enabled for this client"
            )
        if flow in ("USER_SRP_AUTH", "CUSTOM_AUTH"):
            raise CognitoError(
                "InvalidParameterException",
                f"{flow} is not served by the local stack: moto cannot check an SRP proof or run"
                " auth challenges, so it would sign anyone in; use USER_PASSWORD_AUTH locally",
            )
        parameters = dict(body.get("AuthParameters") or {})
        cognito = backend()
        with self.store.lock:
            if flow.startswith("REFRESH_TOKEN"):
                self._check_refresh(pool, parameters.get("REFRESH_TOKEN"))
            else:
                user = pool.user(parameters.get("USERNAME"))
                if user is None and pool.hides_users:
                    raise CognitoError("NotAuthorizedException", "Incorrect username or password.")
                if user is None:
                    raise CognitoError("UserNotFoundException", "User does not exist.")
                parameters["USERNAME"] = user.username
            if admin:
                result = cognito.admin_initiate_auth(pool.moto.id, pool.client.id, flow, parameters)
            else:
                result = cognito.initiate_auth(pool.client.id, flow, parameters)
            self.store.sync(pool.moto)
        return dict(result)

    def _check_refresh(self, pool: Pool, token: Any) -> None:
        assert pool.client is not None
        session = pool.moto.refresh_tokens.get(token) if isinstance(token, str) else None
        if session is None and self.store.has_ended(pool.moto, token):
            raise CognitoError("NotAuthorizedException", "Refresh Token has been revoked")
        if session is None or session[0] != pool.client.id:
            raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
        created = self.store.session_created(pool.moto, str(token))
        lifetime = token_validity(pool.client.properties, "RefreshToken")
        if created is not None and created + lifetime <= self.store.clock():
            raise CognitoError("NotAuthorizedException", "Refresh Token has expired")

    def _admit(self, pool: Pool, token: str) -> Any:
        """The user an access token signs in, checked as Cognito checks it for its own API:
        signature, expiry, the session not signed out; moto is told of a good token it has
        forgotten (issued before a restart)."""
        from relay_local.tokens import TokenRefused, moto_key_set, verify

        try:
            _, claims = verify(token, moto_key_set())
        except TokenRefused:
            raise CognitoError("NotAuthorizedException", "Invalid Access Token") from None
        if claims.get("token_use") != "access" or claims.get("iss") != pool.spec.issuer:
            raise CognitoError("NotAuthorizedException", "Invalid Access Token")
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)) or expires <= self.store.clock():
            raise CognitoError("NotAuthorizedException", "Access Token has expired")
        if self.store.is_revoked(pool.moto, claims.get("origin_jti")):
            raise CognitoError("NotAuthorizedException", "Access Token has been revoked")
        user = next((u for u in pool.moto.users.values() if u.id == claims.get("sub")), None)
        if user is None:
            raise CognitoError("NotAuthorizedException", "User does not exist.")
        if not user.enabled:
            raise CognitoError("NotAuthorizedException", "User is disabled.")
        pool.moto.access_tokens.setdefault(token, (str(claims.get("client_id")), user.username))
        return user

    # --- sign-out and leaving

    def _global_sign_out(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.sign_out(pool.moto, self._admit(pool, body["AccessToken"]))
            self.store.sync(pool.moto)
        return {}

    def _admin_global_sign_out(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.sign_out(pool.moto, pool.admin_user(body["Username"]))
            self.store.sync(pool.moto)
        return {}

    def _revoke_token(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        assert pool.client is not None
        token = body["Token"]
        with self.store.lock:
            session = pool.moto.refresh_tokens.get(token)
            if session is not None and session[0] != pool.client.id:
                raise CognitoError(
                    "UnauthorizedException", "Token cannot be revoked by this client"
                )
            self.store.revoke_refresh_token(pool.moto, token)
            self.store.sync(pool.moto)
        return {}

    def _delete_user(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        """DeleteUser (moto has none): the user deletes themself with their access token."""
        with self.store.lock:
            user = self._admit(pool, body["AccessToken"])
            self.store.sign_out(pool.moto, user)
            backend().admin_delete_user(pool.moto.id, user.username)
            self.store.sync(pool.moto)
        return {}


def _issuer_pool(token: str) -> str | None:
    """The pool an access token names (its signature is checked later, by `_admit`)."""
    import jwt

    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return str(issuer).rsplit("/", 1)[-1] if isinstance(issuer, str) else None
