"""Sign-up on the local user pools, as Cognito does it: triggers, codes by email, checks.

`SignUps` serves SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword,
ConfirmForgotPassword, AdminCreateUser and AdminConfirmSignUp. Cognito checks the
call first (an existing username, the password policy in its words, the schema's
required attributes), then runs PreSignUp (`PreSignUp_SignUp`, or
`PreSignUp_AdminCreateUser`, which reads none of the answer's flags), makes the user
under the `sub` the trigger was told, and emails a code unless the trigger
confirmed the user. A code is checked by the confirmation that consumes it
(`CodeMismatchException`; `ExpiredCodeException` past its day, or its hour for a
reset); a resent code replaces the last. PostConfirmation runs after the user is
confirmed, and when it fails the call fails but the user stays confirmed, as on AWS.
No lock is held while a trigger runs: a trigger may call Cognito itself.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections.abc import Callable
from typing import Any

from relay_local.state.cognito_calls import (
    ADMIN_CLIENT,
    CognitoError,
    Pool,
    TriggerCall,
    Triggers,
    flag,
    flat,
    mask,
    pairs,
    rekey,
    user_json,
)
from relay_local.state.cognito_store import Code, CognitoStore, backend
from relay_local.state.outbox import Outbox
from relay_local.template.model import StackModel

SIGN_UP_CODE_S = 24 * 3600  # a confirmation code lives a day; a reset code an hour
RESET_CODE_S = 3600
DEFAULT_SENDER = "no-reply@verificationemail.com"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")

Handler = Callable[[Pool, dict[str, Any]], dict[str, Any]]


class SignUps:
    def __init__(self, store: CognitoStore, outbox: Outbox, triggers: Triggers | None) -> None:
        self.store = store
        self.outbox = outbox
        self.triggers = triggers
        self.model = StackModel(root=outbox.folder, moto_url="")
        self.handlers: dict[str, Handler] = {
            "SignUp": self.sign_up,
            "ConfirmSignUp": self.confirm_sign_up,
            "ResendConfirmationCode": self.resend_code,
            "ForgotPassword": self.forgot_password,
            "ConfirmForgotPassword": self.confirm_forgot_password,
            "AdminCreateUser": self.admin_create_user,
            "AdminConfirmSignUp": self.admin_confirm_sign_up,
        }

    # --- sign-up by the person

    def sign_up(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        assert pool.client is not None
        username = body["Username"]
        attributes = flat(body.get("UserAttributes"))
        if pool.email_usernames:
            if not _EMAIL.fullmatch(username):
                raise CognitoError("InvalidParameterException", "Username should be an email.")
            attributes["email"] = username
        password = self._check_password(pool, body["Password"])
        self._check_attributes(pool, attributes)
        with self.store.lock:
            _refuse_existing(pool, username)
        sub = str(uuid.uuid4())
        answer = self._trigger(
            pool,
            "PreSignUp_SignUp",
            sub if pool.email_usernames else username,
            pool.client.id,
            _sign_up_request(attributes, body),
        )
        confirmed = answer.get("autoConfirmUser") is True
        with self.store.lock:
            _refuse_existing(pool, username)  # made meanwhile, while the trigger ran
            user, _ = backend().sign_up(pool.client.id, username, password, pairs(attributes))
            rekey(pool.moto, user, sub)
            if answer.get("autoVerifyEmail") is True and "email" in attributes:
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
            code = None
            if confirmed:
                _confirm(user, verify_email=False)
            elif attributes.get("email"):
                code = self._new_code(pool, user, "signup", SIGN_UP_CODE_S)
            self.store.sync(pool.moto)
        result: dict[str, Any] = {"UserConfirmed": confirmed, "UserSub": sub}
        if code is not None:
            result["CodeDeliveryDetails"] = self._email_code(pool, user, code, "verification")
        if confirmed:
            self._post_confirmation(pool, user, "PostConfirmation_ConfirmSignUp", body)
        return result

    def confirm_sign_up(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            user = pool.known_user(body["Username"], _code_mismatch())
            _confirmable(user)
            self._check_code(pool, user, "signup", body["ConfirmationCode"])
            _confirm(user, verify_email=True)
            self.store.sync(pool.moto)
        # Confirmed, whatever the trigger says: a failing PostConfirmation fails the call only.
        self._post_confirmation(pool, user, "PostConfirmation_ConfirmSignUp", body)
        return {}

    def resend_code(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        def unconfirmed(user: Any) -> None:
            if user.status is not UserStatus.UNCONFIRMED:
                raise CognitoError("InvalidParameterException", "User is already confirmed.")

        return self._send_code(pool, body, "signup", SIGN_UP_CODE_S, "verification", unconfirmed)

    # --- a forgotten password

    def forgot_password(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
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

        return self._send_code(pool, body, "reset", RESET_CODE_S, "password-reset", resettable)

    def confirm_forgot_password(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        from moto.cognitoidp.models import UserStatus

        password = self._check_password(pool, body["Password"])
        with self.store.lock:
            user = pool.known_user(body["Username"], _code_mismatch())
            self._check_code(pool, user, "reset", body["ConfirmationCode"])
            user.password = password
            if user.status in (UserStatus.RESET_REQUIRED, UserStatus.FORCE_CHANGE_PASSWORD):
                user.status = UserStatus.CONFIRMED
            self.store.sync(pool.moto)
        self._post_confirmation(pool, user, "PostConfirmation_ConfirmForgotPassword", body)
        return {}

    # --- administrators

    def admin_create_user(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        username = body["Username"]
        action = body.get("MessageAction")
        if action not in (None, "RESEND", "SUPPRESS"):
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{action}' at 'messageAction' failed to"
                " satisfy constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]",
            )
        attributes = flat(body.get("UserAttributes"))
        if pool.email_usernames:
            attributes.setdefault("email", username)
        temporary = body.get("TemporaryPassword")
        temporary = (
            _temporary_password() if temporary is None else self._check_password(pool, temporary)
        )
        sub = str(uuid.uuid4())
        if action != "RESEND":
            self._check_attributes(pool, attributes)
            with self.store.lock:
                _refuse_existing(pool, username)
            # AdminCreateUser reads none of the answer's flags: the user must set a password.
            self._trigger(
                pool,
                "PreSignUp_AdminCreateUser",
                sub if pool.email_usernames else username,
                ADMIN_CLIENT,
                _sign_up_request(attributes, body),
            )
        with self.store.lock:
            if action == "RESEND":
                user = pool.admin_user(username)
                user.password = temporary
            else:
                _refuse_existing(pool, username)
                user = backend().admin_create_user(
                    pool.moto.id, username, "", temporary, pairs(attributes)
                )
                rekey(pool.moto, user, sub)
            self.store.sync(pool.moto)
        if action != "SUPPRESS" and user.attribute_lookup.get("email"):
            self._invite(pool, user, username, temporary)
        return {"User": user_json(user)}

    def admin_confirm_sign_up(self, pool: Pool, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            user = pool.admin_user(body["Username"])
            _confirmable(user)
            _confirm(user, verify_email=False)
            self.store.codes.get((pool.moto.id, user.id), {}).pop("signup", None)
            self.store.sync(pool.moto)
        self._post_confirmation(pool, user, "PostConfirmation_ConfirmSignUp", body, ADMIN_CLIENT)
        return {}

    # --- triggers

    def _trigger(
        self, pool: Pool, source: str, user_name: str, client_id: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        """Run the pool's trigger for `source`, if it has one; its answer's `response`."""
        trigger = source.split("_", 1)[0]
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
        self, pool: Pool, user: Any, source: str, body: dict[str, Any], client_id: str = ""
    ) -> None:
        attributes = {**user.attribute_lookup, "cognito:user_status": "CONFIRMED"}
        request: dict[str, Any] = {"userAttributes": attributes}
        if body.get("ClientMetadata"):
            request["clientMetadata"] = body["ClientMetadata"]
        caller = client_id or (pool.client.id if pool.client is not None else ADMIN_CLIENT)
        self._trigger(pool, source, user.username, caller, request)

    # --- codes and emails

    def _new_code(self, pool: Pool, user: Any, purpose: str, lifetime_s: float) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        expires = self.store.clock() + lifetime_s
        self.store.codes.setdefault((pool.moto.id, user.id), {})[purpose] = Code(code, expires)
        return code

    def _check_code(self, pool: Pool, user: Any, purpose: str, given: str) -> None:
        codes = self.store.codes.get((pool.moto.id, user.id), {})
        code = codes.get(purpose)
        if code is None or code.expires <= self.store.clock():
            raise CognitoError(
                "ExpiredCodeException", "Invalid code provided, please request a code again."
            )
        if not secrets.compare_digest(given, code.code):
            raise _code_mismatch()
        del codes[purpose]

    def _send_code(
        self,
        pool: Pool,
        body: dict[str, Any],
        purpose: str,
        lifetime_s: float,
        kind: str,
        check: Callable[[Any], None],
    ) -> dict[str, Any]:
        """A new code to the user `body` names, if `check` lets it; to an unknown user of a
        client that hides users, nothing, answered as if it went."""
        username = body["Username"]
        try:
            with self.store.lock:
                user = pool.known_user(username, _HiddenDelivery(username))
                check(user)
                code = self._new_code(pool, user, purpose, lifetime_s)
                self.store.sync(pool.moto)
        except _HiddenDelivery as fake:
            return {"CodeDeliveryDetails": fake.details}
        return {"CodeDeliveryDetails": self._email_code(pool, user, code, kind)}

    def _email_code(self, pool: Pool, user: Any, code: str, kind: str) -> dict[str, str]:
        """Send a code in the pool's words; returns CodeDeliveryDetails."""
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
            _sender(pool),
            address,
            str(subject or "Your verification code"),
            str(message or "Your verification code is {####}. ").replace("{####}", code),
            kind,
        )
        return {"Destination": mask(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}

    def _invite(self, pool: Pool, user: Any, username: str, temporary: str) -> None:
        config = pool.spec.properties.get("AdminCreateUserConfig") or {}
        invitation = config.get("InviteMessageTemplate") or {}
        text = str(
            invitation.get("EmailMessage")
            or "Your username is {username} and temporary password is {####}. "
        )
        self.outbox.send(
            _sender(pool),
            user.attribute_lookup["email"],
            str(invitation.get("EmailSubject") or "Your temporary password"),
            text.replace("{username}", username).replace("{####}", temporary),
            "invitation",
        )

    # --- Cognito's checks

    def _check_password(self, pool: Pool, password: str) -> str:
        """The password, or InvalidPasswordException in Cognito's words."""
        policy = (pool.spec.properties.get("Policies") or {}).get("PasswordPolicy") or {}

        def required(rule: str) -> bool:
            return flag(policy.get(rule, True))

        rules = [
            (len(password) >= int(policy.get("MinimumLength", 8)), "Password not long enough"),
            (
                not required("RequireUppercase") or any(c.isupper() for c in password),
                "Password must have uppercase characters",
            ),
            (
                not required("RequireLowercase") or any(c.islower() for c in password),
                "Password must have lowercase characters",
            ),
            (
                not required("RequireNumbers") or any(c.isdigit() for c in password),
                "Password must have numeric characters",
            ),
            (
                not required("RequireSymbols") or any(c in _SYMBOLS for c in password),
                "Password must have symbol characters",
            ),
        ]
        for holds, reason in rules:
            if not holds:
                raise CognitoError(
                    "InvalidPasswordException", f"Password did not conform with policy: {reason}"
                )
        return password

    def _check_attributes(self, pool: Pool, attributes: dict[str, str]) -> None:
        missing = [
            str(a.get("Name"))
            for a in pool.spec.properties.get("Schema") or []
            if flag(a.get("Required", False)) and not attributes.get(str(a.get("Name")))
        ]
        if missing:
            detail = ", ".join(f"{name}: The attribute {name} is required" for name in missing)
            raise CognitoError(
                "InvalidParameterException", f"Attributes did not conform to the schema: {detail}"
            )


def _sign_up_request(attributes: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """PreSignUp's `request`: the attributes given, the validation data, client metadata."""
    request: dict[str, Any] = {
        "userAttributes": dict(attributes),
        "validationData": flat(body.get("ValidationData")) or None,
    }
    if body.get("ClientMetadata"):
        request["clientMetadata"] = body["ClientMetadata"]
    return request


def _refuse_existing(pool: Pool, username: str) -> None:
    if pool.user(username) is not None:
        raise CognitoError(
            "UsernameExistsException",
            "An account with the given email already exists."
            if pool.email_usernames
            else "User already exists",
        )


def _confirmable(user: Any) -> None:
    from moto.cognitoidp.models import UserStatus

    if user.status is not UserStatus.UNCONFIRMED:
        raise CognitoError(
            "NotAuthorizedException",
            f"User cannot be confirmed. Current status is {user.status.value}",
        )


def _confirm(user: Any, verify_email: bool) -> None:
    """CONFIRMED; a code sent to the email proves it is the person's (`verify_email`)."""
    from moto.cognitoidp.models import UserStatus

    user.status = UserStatus.CONFIRMED
    if verify_email and user.attribute_lookup.get("email"):
        user.update_attributes([{"Name": "email_verified", "Value": "true"}])


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
            "Destination": mask(address),
            "DeliveryMedium": "EMAIL",
            "AttributeName": "email",
        }


def _sender(pool: Pool) -> str:
    configuration = pool.spec.properties.get("EmailConfiguration") or {}
    return str(configuration.get("From") or DEFAULT_SENDER)


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
