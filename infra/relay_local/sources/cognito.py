"""A user pool's Lambda triggers, run as Cognito runs them: synchronously, in AWS's shapes.

Local AWS (`state.cognito`) decides when a trigger runs; this builds the event
Cognito sends (`version`, `triggerSource`, `region`, `userPoolId`, `userName`,
`callerContext`, `request`, and `response` with its defaults), invokes the
function and waits, and reads the answer as Cognito reads it: a function that
fails refuses the call with `UserLambdaValidationException` ("PreSignUp failed
with error <its message>."), and an answer that is not the event back, or whose
response flags are not booleans, with `InvalidLambdaResponseException`.

It runs in the AWS process, which is handed it (`state.process.serve`); the
invocation itself happens in the stack, over the process's channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay_local.state.cognito_calls import TriggerCall, TriggerFailed
from relay_local.template.loader import REGION

# Invoke a function synchronously: (function, event, source) -> (result, error).
Call = Callable[[str, Any, str], tuple[Any, dict[str, Any] | None]]

# Each trigger's `response` as Cognito sends it, before the function fills it in.
_RESPONSES: dict[str, dict[str, Any]] = {
    "PreSignUp": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    "PostConfirmation": {},
}
SDK_VERSION = "aws-sdk-unknown-unknown"  # what Cognito reports when the caller's SDK is unknown


def trigger_event(call: TriggerCall) -> dict[str, Any]:
    """The event Cognito invokes a trigger with (also what tests hand a trigger in process)."""
    return {
        "version": "1",
        "triggerSource": call.source,
        "region": REGION,
        "userPoolId": call.pool.id,
        "userName": call.user_name,
        "callerContext": {"awsSdkVersion": SDK_VERSION, "clientId": call.client_id},
        "request": call.request,
        "response": dict(_RESPONSES.get(call.trigger, {})),
    }


class CognitoTriggers:
    def __init__(self, call: Call) -> None:
        self.call = call

    def run(self, call: TriggerCall) -> dict[str, Any]:
        trigger = call.trigger
        source = f"Cognito {call.source} ({call.pool.logical_id})"
        result, error = self.call(call.function, trigger_event(call), source)
        if error is not None:
            message = str(error.get("errorMessage") or error.get("errorType") or "")
            raise TriggerFailed(
                "UserLambdaValidationException", f"{trigger} failed with error {message}."
            )
        response = result.get("response") if isinstance(result, dict) else None
        if not isinstance(response, dict) or any(
            flag in response and not isinstance(response[flag], bool | None)
            for flag in _RESPONSES.get(trigger, {})
        ):
            raise TriggerFailed("InvalidLambdaResponseException", "Unrecognizable lambda output")
        return response
