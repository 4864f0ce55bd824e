"""PostConfirmation (Cognito trigger): make the confirmed account's profile and claim its
handle, once however often Cognito retries."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.accounts import service
from relay.accounts.registration import SignUpRefused, trigger_of
from relay.platform.errors import RelayError
from relay.platform.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    trigger = trigger_of(event)
    if trigger.source == "PostConfirmation_ConfirmSignUp":
        try:
            user = service.registration().confirm(
                trigger.sub, trigger.attributes.get("preferred_username")
            )
        except RelayError as error:
            raise SignUpRefused.of(error) from None
        logger.info("account confirmed", extra={"handle": user.handle})
    # PostConfirmation_ConfirmForgotPassword: a password reset changes no profile.
    return event
