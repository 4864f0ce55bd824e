"""Cognito's JSON API in front of moto: what a client of a user pool needs, done as Cognito does it.

Every call whose `X-Amz-Target` is `AWSCognitoIdentityProviderService.<Op>` comes
here, on local AWS's own port (the functions' boto3 clients) and on the Cognito
endpoint `relay run` prints (curl, a browser's `fetch`: CORS is answered, as
cognito-idp's is). Moto keeps the pools and users; this adds what it lacks:

- the template's triggers (PreSignUp, PostConfirmation), run synchronously through
  `Triggers` (the AWS process is handed them, `sources.cognito`), with AWS's
  trigger sources and answers: a trigger that fails refuses the call with
  `UserLambdaValidationException` ("PreSignUp failed with error <message>.");
- verification and reset codes, sent to the outbox as emails, and checked by
  ConfirmSignUp and ConfirmForgotPassword (`CodeMismatchException`,
  `ExpiredCodeException`);
- the client's rules: its auth flows, `PreventUserExistenceErrors`, case-insensitive
  usernames, the password policy in Cognito's words;
- access tokens checked by signature, expiry and sign-out, so that a token stays
  good across restarts of the stack and stops at GlobalSignOut, as on AWS;
- the pool's JWKS and OpenID configuration at `/{poolId}/.well-known/...`.

Every change is journaled as the state it left (`cognito_store`). No lock is held
while a trigger runs: a trigger may call Cognito itself.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from relay_local.state.cognito_store import Code, CognitoStore, backend, token_validity
from relay_local.state.outbox import Outbox
from relay_local.state.wire import Answer, AwsCall, WsgiApp, answer
from relay_local.template.model import StackModel, UserPoolClientSpec, UserPoolSpec

COGNITO = "AWSCognitoIdentityProviderService."
# Set in the environ of requests that came to the Cognito endpoint's own port.
COGNITO_PORT = "relay.cognito_port"
JSON_11 = "application/x-amz-json-1.1"
ADMIN_CLIENT = "CLIENT_ID_NOT_APPLICABLE"  # callerContext.clientId of admin operations

SIGN_UP_CODE_S = 24 * 3600  # a confirmation code lives a day; a reset code an hour
RESET_CODE_S = 3600
DEFAULT_SENDER = "no-reply@verificationemail.com"

_WELL_KNOWN = re.compile(r"^/([\w-]+_[0-9A-Za-z]+)/\.well-known/(jwks\.json|openid-configuration)$")
# Calls that change nothing: no sync after them.
_READS = re.compile(r"^(Get|List|Describe|AdminGet|AdminList)")
_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"),
]


class CognitoError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


class TriggerFailed(CognitoError):
    """A trigger's function failed or answered what Cognito cannot read."""


@dataclass(frozen=True)
class TriggerCall:
    """One run of a pool's trigger: the function, and what Cognito tells it."""

    pool: UserPoolSpec
    function: str
    source: str  # the trigger source: PreSignUp_SignUp, PostConfirmation_ConfirmSignUp ...
    user_name: str
    client_id: str
    request: dict[str, Any]

    @property
    def trigger(self) -> str:
        return self.source.split("_", 1)[0]


class Triggers(Protocol):
    """Runs a pool's trigger as Lambda runs it, and returns the event's `response`."""

    def run(self, call: TriggerCall) -> dict[str, Any]: ...


def _flat(attributes: Any) -> dict[str, str]:
    if not isinstance(attributes, list):
        return {}
    return {
        str(a.get("Name")): str(a.get("Value", ""))
        for a in attributes
        if isinstance(a, dict) and a.get("Name")
    }


def _mask(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


class _Pool:
    """A template pool as one call sees it: moto's model and the template's specs."""

    def __init__(self, moto: Any, spec: UserPoolSpec, client: UserPoolClientSpec | None) -> None:
        self.moto = moto
        self.spec = spec
        self.client = client

    @property
    def hides_users(self) -> bool:
        return self.client is not None and (
            self.client.properties.get("PreventUserExistenceErrors") == "ENABLED"
        )


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
        self.triggers = triggers
        self.model = StackModel(root=outbox.folder, moto_url="")
        self._handlers: dict[str, Callable[[dict[str, Any], AwsCall], dict[str, Any]]] = {
            "SignUp": self._sign_up,
            "ConfirmSignUp": self._confirm_sign_up,
            "ResendConfirmationCode": self._resend_code,
            "ForgotPassword": self._forgot_password,
            "ConfirmForgotPassword": self._confirm_forgot_password,
            "AdminCreateUser": self._admin_create_user,
            "AdminConfirmSignUp": self._admin_confirm_sign_up,
            "InitiateAuth": self._initiate_auth,
            "AdminInitiateAuth": self._initiate_auth,
            "GlobalSignOut": self._global_sign_out,
            "AdminUserGlobalSignOut": self._admin_global_sign_out,
            "RevokeToken": self._revoke_token,
            "DeleteUser": self._delete_user,
        }

    def apply(self, model: StackModel) -> None:
        self.model = model

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
        return _error("UnknownOperationException", "", status=400)

    def after(self, call: AwsCall, status: str, response: bytes) -> None:
        return None

    def _preflight(self, call: AwsCall) -> Answer:
        requested = str(call.environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
        headers = [
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", requested or "content-type,x-amz-target"),
            ("Access-Control-Max-Age", "172800"),
        ]
        return "204 No Content", [*headers, ("Content-Length", "0")], b""

    def _well_known(self, call: AwsCall, path: str) -> Answer:
        match = _WELL_KNOWN.match(path)
        assert match is not None
        pool_id, document = match.groups()
        if backend().user_pools.get(pool_id) is None:
            return _error("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        if document == "jwks.json":
            from moto.utilities.utils import load_resource

            body = load_resource("cognitoidp/resources/jwks-public.json")
        else:
            host = str(call.environ.get("HTTP_HOST", "127.0.0.1"))
            body = {
                "issuer": next(
                    (p.issuer for p in self.model.user_pools.values() if p.id == pool_id),
                    f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
                ),
                "jwks_uri": f"http://{host}/{pool_id}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["code", "token"],
            }
        return _json(body, content_type="application/json")

    # --- one call

    def _operation(self, call: AwsCall, operation: str) -> Answer:
        from moto.core.exceptions import JsonRESTError

        try:
            body = json.loads(call.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return _error("SerializationException", "The request body is not a JSON object.")
        try:
            _check_shapes(operation, body)
            handler = self._handlers.get(operation)
            if handler is not None and self._template_pool(body) is not None:
                return _json(handler(body, call))
            return self._passthrough(call, operation, body)
        except CognitoError as error:
            return _error(error.error_type, error.message, error.status)
        except JsonRESTError as error:
            return _error(error.error_type, error.message, int(error.code or 400))
        except NotImplementedError:
            return _error(
                "UnknownOperationException",
                f"{operation} is not an operation the local user pool (moto) serves",
            )
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            # Input moto could not take: a 400 that names it, never a 500.
            self.outbox.report(f"[relay] Cognito {operation}: {error!r}")
            return _error("InvalidParameterException", f"Invalid parameters: {error}")

    def _template_pool(self, body: dict[str, Any]) -> _Pool | None:
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
            return None if pool is None else _Pool(pool, owner, client)
        pool_id = body.get("UserPoolId")
        if not isinstance(pool_id, str):
            token = body.get("AccessToken")
            pool_id = self._issuer_pool(token) if isinstance(token, str) else None
        spec = next((p for p in self.model.user_pools.values() if p.id == pool_id), None)
        pool = None if spec is None else cognito.user_pools.get(spec.id)
        return None if pool is None or spec is None else _Pool(pool, spec, None)

    @staticmethod
    def _issuer_pool(token: str) -> str | None:
        import jwt

        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return None
        return str(issuer).rsplit("/", 1)[-1] if isinstance(issuer, str) else None

    def _passthrough(self, call: AwsCall, operation: str, body: dict[str, Any]) -> Answer:
        """Moto answers, after the username is matched as the pool matches it and an access
        token is checked as Cognito checks it; what changed is journaled."""
        pool = self._template_pool(body)
        changed = False
        if pool is not None and isinstance(body.get("Username"), str):
            user = self._user(pool, body["Username"])
            if user is not None and user.username != body["Username"]:
                body = {**body, "Username": user.username}
                changed = True
        if pool is not None and isinstance(body.get("AccessToken"), str):
            self._admit(pool, body["AccessToken"])
        environ = call.environ
        if changed:
            data = json.dumps(body).encode()
            environ = {**environ, "wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))}
        else:
            environ["wsgi.input"] = io.BytesIO(call.body)
        with self.store.lock:
            status, headers, payload = answer(self.moto, environ)
            if pool is not None and status.startswith("2") and not _READS.match(operation):
                self.store.sync(pool.moto)
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() != "content-length" and not k.lower().startswith("access-control-")
        ]
        return status, [*kept, ("Content-Length", str(len(payload))), *_CORS], payload

    # --- users, codes, emails

    def _user(self, pool: _Pool, username: str) -> Any | None:
        """The user a username names: its own, or a username attribute's value (email),
        compared without case when the pool's usernames are case-insensitive."""
        user = pool.moto.users.get(username)
        if user is not None:
            return user
        wanted = username if pool.spec.case_sensitive else username.lower()
        for candidate in pool.moto.users.values():
            names = [candidate.username]
            names += [candidate.attribute_lookup.get(a) for a in pool.spec.username_attributes]
            for name in names:
                if (
                    isinstance(name, str)
                    and (name if pool.spec.case_sensitive else name.lower()) == wanted
                ):
                    return candidate
        return None

    def _admin_user(self, pool: _Pool, username: Any) -> Any:
        """The user an administrator's call names (administrators are told who exists)."""
        user = self._user(pool, username) if isinstance(username, str) else None
        if user is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return user

    def _known_user(self, pool: _Pool, username: Any, hidden: CognitoError) -> Any:
        """The user, or `hidden` when the client hides which users exist, else Cognito's
        UserNotFoundException."""
        user = self._user(pool, str(username)) if isinstance(username, str) else None
        if user is not None:
            return user
        if pool.hides_users:
            raise hidden
        raise CognitoError("UserNotFoundException", "Username/client id combination not found.")

    def _new_code(self, pool: _Pool, user: Any, purpose: str, lifetime_s: float) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        self.store.codes.setdefault((pool.moto.id, user.id), {})[purpose] = Code(
            code, self.store.clock() + lifetime_s
        )
        return code

    def _check_code(self, pool: _Pool, user: Any, purpose: str, given: Any) -> None:
        codes = self.store.codes.get((pool.moto.id, user.id), {})
        code = codes.get(purpose)
        if code is None or code.expires <= self.store.clock():
            raise CognitoError(
                "ExpiredCodeException", "Invalid code provided, please request a code again."
            )
        if not isinstance(given, str) or not secrets.compare_digest(given, code.code):
            raise _code_mismatch()
        del codes[purpose]

    def _email_code(self, pool: _Pool, user: Any, code: str, kind: str) -> dict[str, str]:
        """Send a code the way the pool words it; returns CodeDeliveryDetails."""
        address = user.attribute_lookup.get("email")
        if not address:
            raise CognitoError(
                "InvalidParameterException",
                "Cannot send a code: the user has no email (the local stack sends codes by email)",
            )
        props = pool.spec.properties
        template = props.get("VerificationMessageTemplate") or {}
        subject = template.get("EmailSubject") or props.get("EmailVerificationSubject")
        message = template.get("EmailMessage") or props.get("EmailVerificationMessage")
        self.outbox.send(
            self._sender(pool),
            address,
            str(subject or "Your verification code"),
            str(message or "Your verification code is {####}. ").replace("{####}", code),
            kind,
        )
        return {"Destination": _mask(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}

    @staticmethod
    def _sender(pool: _Pool) -> str:
        configuration = pool.spec.properties.get("EmailConfiguration") or {}
        return str(configuration.get("From") or DEFAULT_SENDER)

    def _check_password(self, pool: _Pool, password: Any) -> str:
        """The password, or InvalidPasswordException in Cognito's words."""
        if not isinstance(password, str) or not password:
            raise CognitoError("InvalidParameterException", "Missing required parameter PASSWORD")
        policy = (pool.spec.properties.get("Policies") or {}).get("PasswordPolicy") or {}
        rules = [
            (len(password) >= int(policy.get("MinimumLength", 8)), "Password not long enough"),
            (
                not _flag(policy.get("RequireUppercase", True))
                or any(c.isupper() for c in password),
                "Password must have uppercase characters",
            ),
            (
                not _flag(policy.get("RequireLowercase", True))
                or any(c.islower() for c in password),
                "Password must have lowercase characters",
            ),
            (
                not _flag(policy.get("RequireNumbers", True)) or any(c.isdigit() for c in password),
                "Password must have numeric characters",
            ),
            (
                not _flag(policy.get("RequireSymbols", True))
                or any(c in _SYMBOLS for c in password),
                "Password must have symbol characters",
            ),
        ]
        for holds, reason in rules:
            if not holds:
                raise CognitoError(
                    "InvalidPasswordException", f"Password did not conform with policy: {reason}"
                )
        return password

    def _check_attributes(self, pool: _Pool, attributes: dict[str, str]) -> None:
        missing = [
            str(a.get("Name"))
            for a in pool.spec.properties.get("Schema") or []
            if _flag(a.get("Required", False)) and not attributes.get(str(a.get("Name")))
        ]
        if missing:
            detail = ", ".join(f"{name}: The attribute {name} is required" for name in missing)
            raise CognitoError(
                "InvalidParameterException", f"Attributes did not conform to the schema: {detail}"
            )

    # --- triggers

    def _trigger(
        self,
        pool: _Pool,
        trigger: str,
        source: str,
        user_name: str,
        client_id: str,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        function = self.model.trigger(pool.spec.logical_id, trigger)
        if function is None:
            return {}
        if self.triggers is None:
            raise CognitoError(
                "UserLambdaValidationException",
                f"{trigger} failed with error the local stack runs no functions here.",
            )
        return self.triggers.run(
            TriggerCall(pool.spec, function, source, user_name, client_id, request)
        )

    def _post_confirmation(
        self, pool: _Pool, user: Any, source: str, client_id: str, body: dict[str, Any]
    ) -> None:
        attributes = {**user.attribute_lookup, "cognito:user_status": "CONFIRMED"}
        request: dict[str, Any] = {"userAttributes": attributes}
        if isinstance(body.get("ClientMetadata"), dict):
            request["clientMetadata"] = body["ClientMetadata"]
        self._trigger(pool, "PostConfirmation", source, user.username, client_id, request)

    # --- sign-up

    def _sign_up(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None and pool.client is not None
        username = body.get("Username")
        if not isinstance(username, str) or not username:
            raise CognitoError("InvalidParameterException", "Missing required parameter USERNAME")
        attributes = _flat(body.get("UserAttributes"))
        email_pool = "email" in pool.spec.username_attributes
        if email_pool:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", username):
                raise CognitoError("InvalidParameterException", "Username should be an email.")
            attributes["email"] = username
        password = self._check_password(pool, body.get("Password"))
        self._check_attributes(pool, attributes)
        with self.store.lock:
            self._refuse_existing(pool, username, email_pool)
        sub = str(uuid.uuid4())
        request: dict[str, Any] = {
            "userAttributes": dict(attributes),
            "validationData": _flat(body.get("ValidationData")) or None,
        }
        if isinstance(body.get("ClientMetadata"), dict):
            request["clientMetadata"] = body["ClientMetadata"]
        user_name = sub if email_pool else username
        answer_ = self._trigger(
            pool, "PreSignUp", "PreSignUp_SignUp", user_name, pool.client.id, request
        )
        auto_confirm = answer_.get("autoConfirmUser") is True
        auto_verify = answer_.get("autoVerifyEmail") is True
        with self.store.lock:
            self._refuse_existing(pool, username, email_pool)
            user, _ = backend().sign_up(
                pool.client.id,
                username,
                password,
                [{"Name": k, "Value": v} for k, v in attributes.items()],
            )
            _rekey(pool.moto, user, sub)
            if auto_verify and "email" in attributes:
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
            code = None
            if auto_confirm:
                from moto.cognitoidp.models import UserStatus

                user.status = UserStatus.CONFIRMED
            elif attributes.get("email"):
                code = self._new_code(pool, user, "signup", SIGN_UP_CODE_S)
            self.store.sync(pool.moto)
        result: dict[str, Any] = {"UserConfirmed": auto_confirm, "UserSub": sub}
        if code is not None:
            result["CodeDeliveryDetails"] = self._email_code(pool, user, code, "verification")
        if auto_confirm:
            self._post_confirmation(
                pool, user, "PostConfirmation_ConfirmSignUp", pool.client.id, body
            )
        return result

    def _refuse_existing(self, pool: _Pool, username: str, email_pool: bool) -> None:
        if self._user(pool, username) is not None:
            message = (
                "An account with the given email already exists."
                if email_pool
                else "User already exists"
            )
            raise CognitoError("UsernameExistsException", message)

    def _confirm_sign_up(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        pool = self._template_pool(body)
        assert pool is not None and pool.client is not None
        mismatch = _code_mismatch()
        with self.store.lock:
            user = self._known_user(pool, body.get("Username"), mismatch)
            _confirmable(user)
            self._check_code(pool, user, "signup", body.get("ConfirmationCode"))
            user.status = UserStatus.CONFIRMED
            if user.attribute_lookup.get("email"):
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
            self.store.sync(pool.moto)
        # Confirmed, whatever the trigger says: a failing PostConfirmation fails the call only.
        self._post_confirmation(pool, user, "PostConfirmation_ConfirmSignUp", pool.client.id, body)
        return {}

    def _resend_code(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        def unconfirmed(user: Any) -> None:
            if user.status is not UserStatus.UNCONFIRMED:
                raise CognitoError("InvalidParameterException", "User is already confirmed.")

        return self._send_code(body, "signup", SIGN_UP_CODE_S, "verification", unconfirmed)

    def _forgot_password(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        def resettable(user: Any) -> None:
            if not user.enabled:
                raise CognitoError("NotAuthorizedException", "User is disabled.")
            verified = user.attribute_lookup.get("email_verified") == "true"
            if user.status is UserStatus.UNCONFIRMED or not verified:
                raise CognitoError(
                    "InvalidParameterException",
                    "Cannot reset password for the user as there is no registered/verified"
                    " email or phone_number",
                )

        return self._send_code(body, "reset", RESET_CODE_S, "password-reset", resettable)

    def _send_code(
        self,
        body: dict[str, Any],
        purpose: str,
        lifetime_s: float,
        kind: str,
        check: Callable[[Any], None],
    ) -> dict[str, Any]:
        """A new code to the user `body` names, if `check` lets it; to an unknown user of a
        client that hides users, nothing, answered as if it went."""
        pool = self._template_pool(body)
        assert pool is not None
        username = body.get("Username")
        try:
            with self.store.lock:
                user = self._known_user(pool, username, _HiddenDelivery(username))
                check(user)
                code = self._new_code(pool, user, purpose, lifetime_s)
                self.store.sync(pool.moto)
        except _HiddenDelivery as fake:
            return {"CodeDeliveryDetails": fake.details}
        return {"CodeDeliveryDetails": self._email_code(pool, user, code, kind)}

    def _confirm_forgot_password(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        pool = self._template_pool(body)
        assert pool is not None and pool.client is not None
        mismatch = _code_mismatch()
        password = self._check_password(pool, body.get("Password"))
        with self.store.lock:
            user = self._known_user(pool, body.get("Username"), mismatch)
            self._check_code(pool, user, "reset", body.get("ConfirmationCode"))
            user.password = password
            if user.status in (UserStatus.RESET_REQUIRED, UserStatus.FORCE_CHANGE_PASSWORD):
                user.status = UserStatus.CONFIRMED
            self.store.sync(pool.moto)
        self._post_confirmation(
            pool, user, "PostConfirmation_ConfirmForgotPassword", pool.client.id, body
        )
        return {}

    # --- administrators

    def _admin_create_user(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None
        username = body.get("Username")
        if not isinstance(username, str) or not username:
            raise CognitoError("InvalidParameterException", "Missing required parameter USERNAME")
        attributes = _flat(body.get("UserAttributes"))
        email_pool = "email" in pool.spec.username_attributes
        if email_pool:
            attributes.setdefault("email", username)
        temporary = body.get("TemporaryPassword")
        if temporary is None:
            temporary = _temporary_password()
        else:
            temporary = self._check_password(pool, temporary)
        if body.get("MessageAction") not in (None, "RESEND", "SUPPRESS"):
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{body['MessageAction']}' at"
                " 'messageAction' failed to satisfy constraint: Member must satisfy enum value"
                " set: [RESEND, SUPPRESS]",
            )
        resend = body.get("MessageAction") == "RESEND"
        if not resend:
            with self.store.lock:
                self._refuse_existing(pool, username, email_pool)
            self._check_attributes(pool, attributes)
            request: dict[str, Any] = {
                "userAttributes": dict(attributes),
                "validationData": _flat(body.get("ValidationData")) or None,
            }
            if isinstance(body.get("ClientMetadata"), dict):
                request["clientMetadata"] = body["ClientMetadata"]
            sub = str(uuid.uuid4())
            # AdminCreateUser reads none of the answer's flags: the user must set a password.
            self._trigger(
                pool,
                "PreSignUp",
                "PreSignUp_AdminCreateUser",
                sub if email_pool else username,
                ADMIN_CLIENT,
                request,
            )
        with self.store.lock:
            if resend:
                user = self._admin_user(pool, username)
                user.password = temporary
            else:
                self._refuse_existing(pool, username, email_pool)
                user = backend().admin_create_user(
                    pool.moto.id,
                    username,
                    "",
                    temporary,
                    [{"Name": k, "Value": v} for k, v in attributes.items()],
                )
                _rekey(pool.moto, user, sub)
            self.store.sync(pool.moto)
        if body.get("MessageAction") != "SUPPRESS" and user.attribute_lookup.get("email"):
            invitation = (pool.spec.properties.get("AdminCreateUserConfig") or {}).get(
                "InviteMessageTemplate"
            ) or {}
            text = str(
                invitation.get("EmailMessage")
                or "Your username is {username} and temporary password is {####}. "
            )
            self.outbox.send(
                self._sender(pool),
                user.attribute_lookup["email"],
                str(invitation.get("EmailSubject") or "Your temporary password"),
                text.replace("{username}", username).replace("{####}", temporary),
                "invitation",
            )
        return {"User": _user_json(user)}

    def _admin_confirm_sign_up(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        pool = self._template_pool(body)
        assert pool is not None
        with self.store.lock:
            user = self._admin_user(pool, body.get("Username"))
            _confirmable(user)
            user.status = UserStatus.CONFIRMED
            self.store.codes.get((pool.moto.id, user.id), {}).pop("signup", None)
            self.store.sync(pool.moto)
        self._post_confirmation(pool, user, "PostConfirmation_ConfirmSignUp", ADMIN_CLIENT, body)
        return {}

    # --- sign-in and sign-out

    def _initiate_auth(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None
        if pool.client is None:
            raise CognitoError("InvalidParameterException", "Missing required parameter ClientId")
        flow = str(body.get("AuthFlow", ""))
        admin = call.operation.endswith(".AdminInitiateAuth")
        allowed = {
            "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
            "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
            "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
            "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
            "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
            "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
        }
        if flow not in allowed:
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy"
                f" constraint: Member must satisfy enum value set: {sorted(allowed)}",
            )
        if allowed[flow] not in pool.client.auth_flows and flow not in ("REFRESH_TOKEN",):
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
                token = parameters.get("REFRESH_TOKEN")
                value = pool.moto.refresh_tokens.get(token) if isinstance(token, str) else None
                if value is None and self.store.has_ended(pool.moto, token):
                    raise CognitoError("NotAuthorizedException", "Refresh Token has been revoked")
                if value is None:
                    raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
                created = self.store.session_created(pool.moto, str(token))
                lifetime = token_validity(pool.client.properties, "RefreshToken")
                if created is not None and created + lifetime <= self.store.clock():
                    raise CognitoError("NotAuthorizedException", "Refresh Token has expired")
                if value[0] != pool.client.id:
                    raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
            else:
                hidden = CognitoError("NotAuthorizedException", "Incorrect username or password.")
                user = self._user(pool, str(parameters.get("USERNAME", "")))
                if user is None:
                    if pool.hides_users:
                        raise hidden
                    raise CognitoError("UserNotFoundException", "User does not exist.")
                parameters["USERNAME"] = user.username
            if admin:
                result = cognito.admin_initiate_auth(pool.moto.id, pool.client.id, flow, parameters)
            else:
                result = cognito.initiate_auth(pool.client.id, flow, parameters)
            self.store.sync(pool.moto)
        return dict(result)

    def _admit(self, pool: _Pool, token: str) -> Any:
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

    def _global_sign_out(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None
        with self.store.lock:
            user = self._admit(pool, str(body.get("AccessToken", "")))
            self.store.sign_out(pool.moto, user)
            self.store.sync(pool.moto)
        return {}

    def _admin_global_sign_out(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None
        with self.store.lock:
            user = self._admin_user(pool, body.get("Username"))
            self.store.sign_out(pool.moto, user)
            self.store.sync(pool.moto)
        return {}

    def _delete_user(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        """DeleteUser (moto has none): the user deletes themself with their access token."""
        pool = self._template_pool(body)
        assert pool is not None
        with self.store.lock:
            user = self._admit(pool, str(body.get("AccessToken", "")))
            self.store.sign_out(pool.moto, user)
            backend().admin_delete_user(pool.moto.id, user.username)
            self.store.sync(pool.moto)
        return {}

    def _revoke_token(self, body: dict[str, Any], call: AwsCall) -> dict[str, Any]:
        pool = self._template_pool(body)
        assert pool is not None and pool.client is not None
        token = body.get("Token")
        with self.store.lock:
            value = pool.moto.refresh_tokens.get(token) if isinstance(token, str) else None
            if value is not None and value[0] != pool.client.id:
                raise CognitoError(
                    "UnauthorizedException", "Token cannot be revoked by this client"
                )
            if isinstance(token, str):
                self.store.revoke_refresh_token(pool.moto, token)
            self.store.sync(pool.moto)
        return {}


# The members Relay's calls carry, by the JSON type Cognito's model gives them.
_SHAPES: dict[str, type] = {
    **dict.fromkeys(
        (
            "ClientId",
            "UserPoolId",
            "Username",
            "Password",
            "PreviousPassword",
            "ProposedPassword",
            "ConfirmationCode",
            "AuthFlow",
            "AccessToken",
            "Token",
            "MessageAction",
            "TemporaryPassword",
            "GroupName",
            "Filter",
            "SecretHash",
            "Session",
            "ChallengeName",
        ),
        str,
    ),
    **dict.fromkeys(("AuthParameters", "ClientMetadata", "ChallengeResponses"), dict),
    **dict.fromkeys(("UserAttributes", "ValidationData", "AttributesToGet"), list),
    "ForceAliasCreation": bool,
    "Permanent": bool,
    "Limit": int,
}
# What each handled call cannot do without, as Cognito's validation says it.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "SignUp": ("ClientId", "Username", "Password"),
    "ConfirmSignUp": ("ClientId", "Username", "ConfirmationCode"),
    "ResendConfirmationCode": ("ClientId", "Username"),
    "ForgotPassword": ("ClientId", "Username"),
    "ConfirmForgotPassword": ("ClientId", "Username", "ConfirmationCode", "Password"),
    "AdminCreateUser": ("UserPoolId", "Username"),
    "AdminConfirmSignUp": ("UserPoolId", "Username"),
    "InitiateAuth": ("ClientId", "AuthFlow"),
    "AdminInitiateAuth": ("UserPoolId", "ClientId", "AuthFlow"),
    "GlobalSignOut": ("AccessToken",),
    "AdminUserGlobalSignOut": ("UserPoolId", "Username"),
    "RevokeToken": ("Token", "ClientId"),
    "DeleteUser": ("AccessToken",),
}


def _check_shapes(operation: str, body: dict[str, Any]) -> None:
    """Cognito's own checks before anything runs: members of the wrong JSON type, then
    required members that are missing."""
    for name, kind in _SHAPES.items():
        value = body.get(name)
        if value is None:
            continue
        wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if kind is dict and not wrong:
            wrong = not all(isinstance(v, str) for v in value.values())
        if kind is list and not wrong and name != "AttributesToGet":
            wrong = not all(
                isinstance(item, dict)
                and isinstance(item.get("Name"), str)
                and isinstance(item.get("Value", ""), str)
                for item in value
            )
        if wrong:
            raise CognitoError("SerializationException", f"{name} is not of the type Cognito takes")
    for name in _REQUIRED.get(operation, ()):
        if body.get(name) is None:
            member = name[:1].lower() + name[1:]
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value null at '{member}' failed to satisfy"
                " constraint: Member must not be null",
            )


def _confirmable(user: Any) -> None:
    from moto.cognitoidp.models import UserStatus

    if user.status is not UserStatus.UNCONFIRMED:
        raise CognitoError(
            "NotAuthorizedException",
            f"User cannot be confirmed. Current status is {user.status.value}",
        )


def _code_mismatch() -> CognitoError:
    return CognitoError(
        "CodeMismatchException", "Invalid verification code provided, please try again."
    )


class _HiddenDelivery(CognitoError):
    """What a client that hides which users exist answers for one that does not: a code
    seemingly sent."""

    def __init__(self, username: Any) -> None:
        super().__init__("", "")
        address = str(username) if isinstance(username, str) and "@" in username else "x@x"
        self.details = {
            "Destination": _mask(address),
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        }


_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _temporary_password() -> str:
    """A temporary password any password policy accepts."""
    random = secrets.SystemRandom()
    parts = [
        random.choice(string.ascii_uppercase),
        random.choice(string.ascii_lowercase),
        random.choice(string.digits),
        random.choice("!#%&*+-=?@^_"),
    ]
    parts += [random.choice(string.ascii_letters + string.digits) for _ in range(12)]
    random.shuffle(parts)
    return "".join(parts)


def _rekey(pool: Any, user: Any, sub: str) -> None:
    """Give a user moto just made the `sub` its triggers were told (moto draws its own)."""
    del pool.users[user.username]
    if user.username == user.id:
        user.username = sub
    user.id = sub
    user.update_attributes([{"Name": "sub", "Value": sub}])
    pool.users[user.username] = user


def _user_json(user: Any) -> dict[str, Any]:
    data: dict[str, Any] = user.to_json(extended=True)
    for key in ("UserCreateDate", "UserLastModifiedDate"):
        if isinstance(data.get(key), datetime.datetime):
            data[key] = data[key].replace(tzinfo=datetime.UTC).timestamp()
    data["UserStatus"] = str(getattr(data.get("UserStatus"), "value", data.get("UserStatus")))
    return data


def _json(payload: Any, content_type: str = JSON_11) -> Answer:
    body = json.dumps(payload, default=str).encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        *_CORS,
    ]
    return "200 OK", headers, body


def _error(error_type: str, message: str, status: int = 400) -> Answer:
    headers = [
        ("Content-Type", JSON_11),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amzn-ErrorType", f"{error_type}:"),
        *_CORS,
    ]
    reason = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(
        status, "Error"
    )
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))], body
