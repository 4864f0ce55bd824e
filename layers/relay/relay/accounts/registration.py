"""Registration: the two Cognito triggers that tie a new account to its handle.

Sign-up holds a handle before anyone has proved their email: PreSignUp checks the
`preferred_username` attribute with the handle rule and RESERVES it for this sign-up
(`reserved`, owned by the new user's sub, expiring with the emailed code), so two
people who sign up with one handle cannot both confirm it: the second is refused at
sign-up. A reservation nobody confirmed frees itself when it lapses, and the same
person signing up again takes their own back.

PostConfirmation makes the profile: one transaction turns the reservation into
`taken`, puts the profile and writes `accounts.user_created` to the outbox. Cognito
retries a trigger that failed or timed out, so a second run finds the profile made
and does nothing.

A refusal is raised as a RelayError: its message is what Cognito hands the client
("PreSignUp failed with error <message>.").
"""

from __future__ import annotations

from relay.accounts.handles import normalize
from relay.accounts.models import User
from relay.accounts.rules import RESERVATION_TTL_S
from relay.accounts.users_table import UsersTable
from relay.platform.aws_events import CognitoTrigger, NotAnEvent, cognito_trigger
from relay.platform.clock import Clock
from relay.platform.errors import Conflict, Invalid, RelayError
from relay.platform.events import Event, outbox_put

USER_CREATED = "accounts.user_created"
_SUB_MAX = 128


class SignUpRefused(Invalid):
    code = "sign_up_refused"

    @classmethod
    def of(cls, error: RelayError) -> SignUpRefused:
        """The refusal as Cognito should show it: Cognito ends the sentence itself
        ("PreSignUp failed with error <message>.")."""
        return cls(error.message.rstrip("."), code=error.code)


def trigger_of(event: object) -> CognitoTrigger:
    """The trigger event, decoded; SignUpRefused when it is not one Cognito sends."""
    try:
        return cognito_trigger(event)
    except NotAnEvent:
        raise SignUpRefused("Not a Cognito trigger event") from None


def check_sub(sub: object) -> str:
    """A user id as Cognito makes them (a UUID; anything printable and short passes);
    Invalid for anything else, before it reaches a key."""
    if not isinstance(sub, str) or not 0 < len(sub) <= _SUB_MAX:
        raise Invalid("The user id is missing or too long.", code="invalid_user")
    if not (sub.isascii() and sub.isprintable()) or "#" in sub:
        raise Invalid("The user id is not valid.", code="invalid_user")
    return sub


def handle_of(raw: object) -> str:
    """The handle a sign-up asked for; Invalid naming the attribute when it is missing."""
    if raw is None or raw == "":
        raise Invalid(
            "A handle is required: send it as the preferred_username attribute.",
            code="invalid_handle",
        )
    return normalize(raw)


class Registration:
    def __init__(self, table: UsersTable, events_table: str, clock: Clock) -> None:
        self.table = table
        self.events_table = events_table
        self.clock = clock

    def reserve(self, sub: object, raw_handle: object) -> str:
        """Hold the handle a sign-up asks for; the normalized handle. Invalid for a handle
        that breaks the rule, Conflict (handle_taken) for one somebody else holds."""
        sub, handle = check_sub(sub), handle_of(raw_handle)
        now_s = self.clock.now_ms() // 1000
        if not self.table.reserve(handle, sub, now_s, now_s + RESERVATION_TTL_S):
            raise Conflict(f"The handle {handle!r} is taken.", code="handle_taken")
        return handle

    def confirm(self, sub: object, raw_handle: object) -> User:
        """Make the confirmed account's profile (once, however often Cognito retries)."""
        sub, handle = check_sub(sub), handle_of(raw_handle)
        existing = self.table.user(sub)
        if existing is not None:
            return existing
        now_ms = self.clock.now_ms()
        user = User(sub=sub, handle=handle, created_ms=now_ms)
        event = Event.now(
            USER_CREATED,
            actor_id=sub,
            subject_id=sub,
            at_ms=now_ms,
            data={"handle": handle},
        )
        if self.table.create(user, now_ms // 1000, outbox_put(self.events_table, event)):
            return user
        return self.table.user(sub) or user  # made meanwhile, by a retry that overtook us
