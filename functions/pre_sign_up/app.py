"""PreSignUp (Cognito trigger): check the handle a sign-up asks for and hold it for this
sign-up. Raising refuses the sign-up; Cognito hands the client the message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.accounts import service
from relay.accounts.registration import SignUpRefused, trigger_of
from relay.platform.errors import RelayError
from relay.platform.observability import logger

SIGN_UPS = ("PreSignUp_SignUp", "PreSignUp_AdminCreateUser")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    trigger = trigger_of(event)
    if trigger.source not in SIGN_UPS:
        # A federated sign-in (PreSignUp_ExternalProvider) brings no handle to check.
        raise SignUpRefused("Relay accounts sign up with an email and a handle")
    wanted = trigger.attributes.get("preferred_username")
    try:
        handle = service.registration().reserve(trigger.sub, wanted)
    except RelayError as error:
        raise SignUpRefused.of(error) from None
    logger.info("handle reserved", extra={"handle": handle})
    return event
