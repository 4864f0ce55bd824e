"""Accounts' limits and windows, each written once.

None of these is a template parameter: they are part of the contract clients code
against (DESIGN, "Identity and accounts"), not a deployment's tuning.
"""

from __future__ import annotations

# How long a handle stays held for a sign-up whose emailed code nobody has entered: the
# life of Cognito's confirmation code (a day). A reservation past it is free to take.
RESERVATION_TTL_S = 24 * 3600

DISPLAY_NAME_MAX = 50
BIO_MAX = 280

# Avatars: what the presigned POST lets a browser upload straight to S3. S3 checks the
# policy (size, type, key), so a client cannot put more than this in the bucket.
AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
# How long the presigned POST may be used; the bucket's lifecycle removes uploads of
# keys no profile came to name (template.yaml, AvatarsBucket).
AVATAR_UPLOAD_TTL_S = 600
AVATAR_PREFIX = "avatars/"
