"""Accounts: GET|PATCH|DELETE /api/me, POST /api/me/avatar, POST /api/me/sign-out and
GET /api/config (no sign-in)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.accounts import service
from relay.accounts.avatars import avatar_url
from relay.accounts.models import User
from relay.accounts.schemas import (
    AccountProfileOut,
    AvatarBody,
    AvatarUploadOut,
    ConfigOut,
    PatchMeBody,
)
from relay.platform.http import caller, make_resolver, resolve
from relay.platform.observability import logger
from relay.platform.responses import JSON
from relay.platform.schemas import error_responses

app = make_resolver()


def profile(user: User) -> AccountProfileOut:
    return AccountProfileOut.of(user, avatar_url(user.avatar_key))


@app.get("/api/me", summary="The caller's profile", responses=error_responses(401, 404))
def get_me() -> AccountProfileOut:
    return profile(service.profiles().me(caller(app).require_user()))


@app.patch(
    "/api/me",
    summary="Change the caller's display name, bio, handle or avatar",
    responses=error_responses(400, 401, 404, 409),
)
def patch_me(body: PatchMeBody) -> AccountProfileOut:
    user = service.profiles().update(caller(app).require_user(), body.changes())
    return profile(user)


@app.post(
    "/api/me/avatar",
    summary="A presigned POST to upload an avatar to",
    description='Upload with the form, then PATCH /api/me with {"avatar": key}.',
    responses={201: {"description": "Created"}, **error_responses(400, 401, 404)},
)
def avatar_upload(body: AvatarBody) -> Response[AvatarUploadOut]:
    upload = service.profiles().avatar_upload(caller(app).require_user(), body.content_type)
    return Response(201, JSON, AvatarUploadOut.of(upload))


@app.post(
    "/api/me/sign-out",
    summary="Sign out everywhere: tokens issued until now are refused",
    responses={204: {"description": "Signed out", "content": {}}, **error_responses(401)},
)
def sign_out() -> Response[None]:
    if not service.profiles().sign_out(caller(app).require_user()):
        # Refresh tokens ended; access tokens live until they expire (an hour at most).
        logger.warning("sign-out not recorded in Redis")
    return Response(204)


@app.delete(
    "/api/me",
    summary="Delete the caller's account and personal data, and sign out everywhere",
    responses={204: {"description": "Deleted", "content": {}}, **error_responses(401)},
)
def delete_me() -> Response[None]:
    service.profiles().delete(caller(app).require_user())
    return Response(204)


@app.get("/api/config", summary="Where clients find the user pool, the WebSocket and links")
def config() -> ConfigOut:
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    api_base = f"{scheme}://{event.request_context.domain_name}"
    return ConfigOut.of(service.client_config(api_base))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, object], context: LambdaContext) -> dict[str, object]:
    return resolve(app, event, context)
