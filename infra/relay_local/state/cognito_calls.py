"""What every Cognito call of the local stack shares: its errors, the pool it is about, the
checks Cognito makes before anything runs, and the answers it sends back.

A call's errors are Cognito's (`{"__type", "message"}` with its status); a member of the
wrong JSON type is a `SerializationException` and a missing required one Cognito's
validation error, before any user or trigger is touched. `Pool` is a template pool as
one call sees it: moto's model, the template's spec and the app client the call
names, and how its usernames are matched (case-insensitive pools, email usernames).
Triggers are run through `Triggers`, which the AWS process is handed.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from relay_local.state.wire import Answer
from relay_local.template.model import UserPoolClientSpec, UserPoolSpec

JSON_11 = "application/x-amz-json-1.1"
ADMIN_CLIENT = "CLIENT_ID_NOT_APPLICABLE"  # callerContext.clientId of admin operations
CORS = [
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


class Pool:
    """A template pool as one call sees it: moto's model, the template's specs, the client."""

    def __init__(self, moto: Any, spec: UserPoolSpec, client: UserPoolClientSpec | None) -> None:
        self.moto = moto
        self.spec = spec
        self.client = client

    @property
    def hides_users(self) -> bool:
        """PreventUserExistenceErrors: unknown users are answered as known ones would be."""
        return self.client is not None and (
            self.client.properties.get("PreventUserExistenceErrors") == "ENABLED"
        )

    @property
    def email_usernames(self) -> bool:
        return "email" in self.spec.username_attributes

    def user(self, username: Any) -> Any | None:
        """The user a username names: its own, or a username attribute's value (the email),
        compared without case when the pool's usernames are case-insensitive."""
        if not isinstance(username, str):
            return None
        user = self.moto.users.get(username)
        if user is not None:
            return user

        def key(name: str) -> str:
            return name if self.spec.case_sensitive else name.lower()

        wanted = key(username)
        for candidate in self.moto.users.values():
            names = [candidate.username]
            names += [candidate.attribute_lookup.get(a) for a in self.spec.username_attributes]
            if any(isinstance(name, str) and key(name) == wanted for name in names):
                return candidate
        return None

    def admin_user(self, username: Any) -> Any:
        """The user an administrator's call names (administrators are told who exists)."""
        user = self.user(username)
        if user is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return user

    def known_user(self, username: Any, hidden: CognitoError) -> Any:
        """The user a client's call names; `hidden` when the client hides which users
        exist, else Cognito's UserNotFoundException."""
        user = self.user(username)
        if user is not None:
            return user
        if self.hides_users:
            raise hidden
        raise CognitoError("UserNotFoundException", "Username/client id combination not found.")


# --- Cognito's checks before a call runs ----------------------------------------------------

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
# What each call the local stack handles cannot do without.
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


def check_shapes(operation: str, body: dict[str, Any]) -> None:
    """Members of the wrong JSON type, then required members that are missing."""
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


# --- small shared pieces ------------------------------------------------------------------


def flat(attributes: Any) -> dict[str, str]:
    """`[{"Name", "Value"}, ...]` as a dict (checked by `check_shapes` already)."""
    if not isinstance(attributes, list):
        return {}
    return {str(a["Name"]): str(a.get("Value", "")) for a in attributes if a.get("Name")}


def pairs(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in attributes.items()]


def mask(address: str) -> str:
    """An email as CodeDeliveryDetails shows it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def rekey(pool: Any, user: Any, sub: str) -> None:
    """Give a user moto just made the `sub` its triggers were told (moto draws its own)."""
    del pool.users[user.username]
    if user.username == user.id:
        user.username = sub
    user.id = sub
    user.update_attributes([{"Name": "sub", "Value": sub}])
    pool.users[user.username] = user


def user_json(user: Any) -> dict[str, Any]:
    data: dict[str, Any] = user.to_json(extended=True)
    for key in ("UserCreateDate", "UserLastModifiedDate"):
        if isinstance(data.get(key), datetime.datetime):
            data[key] = data[key].replace(tzinfo=datetime.UTC).timestamp()
    data["UserStatus"] = str(getattr(data.get("UserStatus"), "value", data.get("UserStatus")))
    return data


# --- answers --------------------------------------------------------------------------------


def json_answer(payload: Any, content_type: str = JSON_11) -> Answer:
    body = json.dumps(payload, default=str).encode()
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        *CORS,
    ]
    return "200 OK", headers, body


def error_answer(error_type: str, message: str, status: int = 400) -> Answer:
    body = json.dumps({"__type": error_type, "message": message}).encode()
    headers = [
        ("Content-Type", JSON_11),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amzn-ErrorType", f"{error_type}:"),
        *CORS,
    ]
    reason = {400: "Bad Request", 500: "Internal Server Error"}.get(status, "Error")
    return f"{status} {reason}", headers, body
