"""S3's own checks on presigned URLs and browser POST uploads, which moto's S3 skips: it serves
any presigned URL, signed or not, expired or not, and stores whatever a presigned POST sends,
whatever its policy says, so a client that signs badly, sends another Content-Type than it
signed, uploads too much or waits too long would work locally and fail on AWS. `check_presigned`
verifies Signature Version 4 and Version 2 query authentication and `check_post_policy` a POST
policy's signature, expiry and conditions; both are pure (the request as received, a lookup from
access key id to secret, the current time in) and answer `None` or the `S3Refusal` to send, in
S3's error codes and messages, because clients and tests match on them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote_to_bytes
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class S3Refusal:
    """A request S3 refuses: the HTTP status, S3's error code and S3's message."""

    status: int
    code: str
    message: str

    def xml(self) -> bytes:
        # S3 sends a fresh request id and host id with every error; clients log them, none
        # match on them, so random ones in S3's shapes are enough.
        request_id = secrets.token_hex(8).upper()
        host_id = base64.b64encode(secrets.token_bytes(48)).decode("ascii")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
        ).encode()


_V4_ALGORITHM = "AWS4-HMAC-SHA256"
_V4_QUERY_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
# Any one of these makes a query a SigV4 presign: one that lost the rest of its parameters
# must be refused for it, not served to moto as an unsigned request.
_V4_MARKERS = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"})
_A_WEEK = 7 * 24 * 3600
# S3 serves a presign dated slightly ahead of its clock (signers' clocks drift) and refuses one
# dated an hour ahead; its allowed clock skew for signed requests, 15 minutes, is the boundary.
_ALLOWED_SKEW = timedelta(minutes=15)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
# Bounded so that int() never meets a number too long to read; nothing valid comes near it.
_INTEGER = re.compile(r"-?\d{1,30}")
# What SigV2 signs of the query besides the path: S3's sub-resources and response overrides,
# the same list botocore's HmacV1 signer uses, so what a client signs is what is checked.
_V2_SUB_RESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)
# S3 does not ask for a payload hash header in a presign to be signed; every other x-amz-*
# header a presigned request carries has to be.
_UNSIGNED_HEADERS_ALLOWED = frozenset({"x-amz-content-sha256"})

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
_NO_SUCH_KEY = "The AWS Access Key Id you provided does not exist in our records."
_ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
)
_CREDENTIAL = "Error parsing the X-Amz-Credential parameter; "
_CREDENTIAL_SHAPE = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)


def _access_denied(message: str) -> S3Refusal:
    return S3Refusal(403, "AccessDenied", message)


def _query_error(message: str) -> S3Refusal:
    return S3Refusal(400, "AuthorizationQueryParametersError", message)


def _invalid_argument(message: str) -> S3Refusal:
    return S3Refusal(400, "InvalidArgument", message)


def _invalid_policy(message: str) -> S3Refusal:
    return S3Refusal(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


_MISMATCHED = S3Refusal(403, "SignatureDoesNotMatch", _MISMATCH)
_UNKNOWN_KEY = S3Refusal(403, "InvalidAccessKeyId", _NO_SUCH_KEY)


def _utc(now: datetime) -> datetime:
    # A naive clock is read as UTC, the only zone S3's timestamps are in.
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _decoded_bytes(raw: str) -> bytes:
    # S3 reads a query as a form: `+` is a space. Bytes, so a key that is not UTF-8 is
    # re-encoded exactly as the client encoded it.
    return unquote_to_bytes(raw.replace("+", " "))


def _decoded(raw: str) -> str:
    return _decoded_bytes(raw).decode("utf-8", "replace")


def _raw_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def _parameters(query: str) -> dict[str, str]:
    """The query's decoded parameters, the first one of a repeated name winning."""
    parameters: dict[str, str] = {}
    for name, value in _raw_pairs(query):
        parameters.setdefault(_decoded(name), _decoded(value))
    return parameters


def _kind(parameters: dict[str, str]) -> str | None:
    if _V4_MARKERS & parameters.keys():
        return "v4"
    if "Signature" in parameters and ("AWSAccessKeyId" in parameters or "Expires" in parameters):
        return "v2"
    return None


def is_presigned(query: str) -> bool:
    """Whether a query string carries SigV4 or SigV2 query authentication."""
    return _kind(_parameters(query)) is not None


def check_presigned(
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> S3Refusal | None:
    """What S3 refuses a presigned request with, or None when it would serve it.

    `raw_path` and `query` are as sent (percent-encoded), `headers` has lower-case names, and
    the URL is path-style, so the path starts with the bucket. A query that is not presigned
    is not this function's to refuse.
    """
    now = _utc(now)
    parameters = _parameters(query)
    kind = _kind(parameters)
    if kind is None:
        return None
    if "authorization" in headers or (kind == "v4" and "Signature" in parameters):
        return _invalid_argument(_ONE_MECHANISM)
    if kind == "v4":
        return _check_v4_query(method, raw_path, query, parameters, headers, secret_for, now)
    return _check_v2_query(method, raw_path, query, parameters, headers, secret_for, now)


def _check_v4_query(
    method: str,
    raw_path: str,
    query: str,
    parameters: dict[str, str],
    headers: dict[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> S3Refusal | None:
    # The order is S3's: the parameters, the date, the lifetime, the time window, the
    # credential scope, the access key and only then the signature.
    if any(name not in parameters for name in _V4_QUERY_PARAMETERS):
        return _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if parameters["X-Amz-Algorithm"] != _V4_ALGORITHM:
        return _query_error(
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"'
        )
    amz_date = parameters["X-Amz-Date"]
    signed_at = _amz_datetime(amz_date)
    if signed_at is None:
        return _query_error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    expires = parameters["X-Amz-Expires"]
    if not _INTEGER.fullmatch(expires):
        return _query_error("X-Amz-Expires should be a number")
    lifetime = int(expires)
    if lifetime < 0:
        return _query_error("X-Amz-Expires must be non-negative")
    if lifetime > _A_WEEK:
        return _query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds"
        )
    if signed_at - now > _ALLOWED_SKEW:
        return _access_denied("Request is not yet valid")
    if now - signed_at > timedelta(seconds=lifetime):
        return _access_denied("Request has expired")

    scope = parameters["X-Amz-Credential"].split("/")
    if len(scope) != 5:
        return _query_error(_CREDENTIAL + _CREDENTIAL_SHAPE)
    access_key, scope_date, region, service, terminal = scope
    if not region:
        return _query_error(_CREDENTIAL + "a non-empty region must be provided in the credential.")
    if service != "s3":
        return _query_error(
            _CREDENTIAL + f'incorrect service "{service}". This endpoint belongs to "s3".'
        )
    if terminal != "aws4_request":
        return _query_error(
            _CREDENTIAL + f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
        )
    if scope_date != amz_date[:8]:
        return _query_error(
            f'Invalid credential date "{scope_date}". This date is not the same as '
            f'X-Amz-Date: "{amz_date[:8]}".'
        )
    secret = secret_for(access_key)
    if secret is None:
        return _UNKNOWN_KEY

    signed_headers = [name.strip().lower() for name in parameters["X-Amz-SignedHeaders"].split(";")]
    unsigned = [
        name
        for name in headers
        if name.startswith("x-amz-")
        and name not in signed_headers
        and name not in _UNSIGNED_HEADERS_ALLOWED
    ]
    if unsigned:
        return _access_denied("There were headers present in the request which were not signed")

    canonical_request = "\n".join(
        (
            method.upper(),
            _canonical_uri(raw_path),
            _canonical_query(query),
            "".join(f"{name}:{_trimmed(headers.get(name, ''))}\n" for name in signed_headers),
            ";".join(signed_headers),
            # A presign is made before its body exists, so S3 takes it unsigned unless the
            # signer put a payload hash in the query itself.
            parameters.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
        )
    )
    credential_scope = f"{scope_date}/{region}/{service}/{terminal}"
    string_to_sign = "\n".join(
        (
            _V4_ALGORITHM,
            amz_date,
            credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        )
    )
    expected = _v4_signature(secret, scope_date, region, service, string_to_sign)
    if not _same(expected, parameters["X-Amz-Signature"]):
        return _MISMATCHED
    return None


def _amz_datetime(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _canonical_uri(raw_path: str) -> str:
    # Each segment decoded and encoded once, the way SigV4 for S3 defines it; splitting
    # before decoding keeps an encoded slash inside a key (%2F) apart from the path's own.
    return "/".join(quote(_decoded_bytes(segment), safe="") for segment in raw_path.split("/"))


def _canonical_query(query: str) -> str:
    pairs = sorted(
        (quote(_decoded_bytes(name), safe=""), quote(_decoded_bytes(value), safe=""))
        for name, value in _raw_pairs(query)
        if _decoded(name) != "X-Amz-Signature"
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def _trimmed(value: str) -> str:
    return " ".join(value.split())


def _same(expected: str, provided: str) -> bool:
    # Bytes, because compare_digest refuses a str with non-ASCII in it, which a client may send.
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))


def _hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _v4_signature(secret: str, date: str, region: str, service: str, string_to_sign: str) -> str:
    key = _hmac_sha256(f"AWS4{secret}".encode(), date)
    key = _hmac_sha256(key, region)
    key = _hmac_sha256(key, service)
    key = _hmac_sha256(key, "aws4_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _v2_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _check_v2_query(
    method: str,
    raw_path: str,
    query: str,
    parameters: dict[str, str],
    headers: dict[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> S3Refusal | None:
    if "AWSAccessKeyId" not in parameters or "Expires" not in parameters:
        return _access_denied(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters"
        )
    expires = parameters["Expires"]
    if not _INTEGER.fullmatch(expires):
        return _access_denied(f"Invalid date (should be seconds since epoch): {expires}")
    # SigV2 has no lifetime limit and no clock skew: the URL is good until its Expires.
    if now.timestamp() > int(expires):
        return _access_denied("Request has expired")
    secret = secret_for(parameters["AWSAccessKeyId"])
    if secret is None:
        return _UNKNOWN_KEY
    string_to_sign = _v2_string_to_sign(method, raw_path, query, parameters, headers)
    if not _same(_v2_signature(secret, string_to_sign), parameters["Signature"]):
        return _MISMATCHED
    return None


def _v2_string_to_sign(
    method: str,
    raw_path: str,
    query: str,
    parameters: dict[str, str],
    headers: dict[str, str],
) -> str:
    # A SigV2 signer moves the headers it signed into the query (botocore puts Content-Type,
    # Content-MD5 and every x-amz-* header there), so a header may come either way; one the
    # client also sends as a header is the one that counts.
    from_query = {name.lower(): value for name, value in parameters.items()}
    content_md5 = headers.get("content-md5", from_query.get("content-md5", ""))
    content_type = headers.get("content-type", from_query.get("content-type", ""))
    amz_headers = {name: value for name, value in from_query.items() if name.startswith("x-amz-")}
    amz_headers.update(
        {name: value for name, value in headers.items() if name.startswith("x-amz-")}
    )
    lines = [method.upper(), content_md5.strip(), content_type.strip(), parameters["Expires"]]
    lines += [f"{name}:{amz_headers[name].strip()}" for name in sorted(amz_headers)]
    return "\n".join(lines) + "\n" + raw_path + _v2_sub_resources(query)


def _v2_sub_resources(query: str) -> str:
    found = []
    for part in query.split("&"):
        raw_name, equals, raw_value = part.partition("=")
        name = _decoded(raw_name)
        if name in _V2_SUB_RESOURCES:
            # Signed decoded, as S3's string-to-sign has them; a bare `?uploads` has no `=`.
            found.append((name, f"{name}={_decoded(raw_value)}" if equals else name))
    if not found:
        return ""
    found.sort(key=lambda item: item[0])
    return "?" + "&".join(text for _, text in found)


# Form fields a POST policy need not name: the file, the policy and the signature itself.
_POST_EXEMPT_FIELDS = frozenset(
    {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}
)
_V4_POST_FIELDS = (
    ("x-amz-algorithm", "X-Amz-Algorithm"),
    ("x-amz-credential", "X-Amz-Credential"),
    ("x-amz-date", "X-Amz-Date"),
    ("x-amz-signature", "X-Amz-Signature"),
)
_V2_POST_FIELDS = (("awsaccesskeyid", "AWSAccessKeyId"), ("signature", "Signature"))


def _missing_field(name: str) -> S3Refusal:
    return _invalid_argument(
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields."
    )


def check_post_policy(
    form: dict[str, str],
    file_size: int,
    bucket: str,
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> S3Refusal | None:
    """What S3 refuses a browser-based POST upload with, or None when it would store it.

    `form` holds the multipart fields other than the file, `file_size` the file's length in
    bytes and `bucket` the bucket the form was posted to.
    """
    now = _utc(now)
    # S3 reads form field names without case: the documentation's forms send `Policy` and
    # `Content-Type`, botocore's `policy`, and S3 names extra fields in lower case.
    fields = {name.lower(): value for name, value in form.items()}
    if not fields.get("key"):
        return _missing_field("key")
    required: tuple[tuple[str, str], ...]
    if any(name in fields for name, _ in _V4_POST_FIELDS):
        required = _V4_POST_FIELDS
    elif any(name in fields for name, _ in _V2_POST_FIELDS):
        required = _V2_POST_FIELDS
    else:
        # No signature at all is an anonymous upload, which only a public-write bucket takes.
        return _access_denied("Access Denied")
    for name, shown in required:
        if name not in fields:
            return _missing_field(shown)
    policy = fields.get("policy")
    if not policy:
        return _missing_field("Policy")

    refusal = _check_post_signature(fields, policy, secret_for)
    if refusal is not None:
        return refusal
    try:
        document = json.loads(base64.b64decode(policy))
    except (binascii.Error, ValueError):
        return _invalid_policy("Invalid JSON.")
    if not isinstance(document, dict):
        return _invalid_policy("Invalid JSON.")
    refusal = _check_expiration(document.get("expiration"), now)
    if refusal is not None:
        return refusal
    conditions = document.get("conditions")
    if not isinstance(conditions, list):
        return _invalid_policy("Policy missing conditions.")
    return _check_conditions(conditions, fields, file_size, bucket)


def _check_post_signature(
    fields: dict[str, str], policy: str, secret_for: Callable[[str], str | None]
) -> S3Refusal | None:
    # The signature covers the policy as sent, base64 and all, so it is checked before the
    # policy is trusted enough to be read.
    if "x-amz-signature" in fields:
        if fields["x-amz-algorithm"] != _V4_ALGORITHM:
            return _invalid_argument('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
        scope = fields["x-amz-credential"].split("/")
        if len(scope) != 5:
            return _invalid_argument(_CREDENTIAL + _CREDENTIAL_SHAPE)
        access_key, date, region, service, _ = scope
        secret = secret_for(access_key)
        if secret is None:
            return _UNKNOWN_KEY
        expected = _v4_signature(secret, date, region, service, policy)
        provided = fields["x-amz-signature"]
    else:
        secret = secret_for(fields["awsaccesskeyid"])
        if secret is None:
            return _UNKNOWN_KEY
        expected = _v2_signature(secret, policy)
        provided = fields["signature"]
    if not _same(expected, provided):
        return _MISMATCHED
    return None


def _check_expiration(expiration: object, now: datetime) -> S3Refusal | None:
    if not isinstance(expiration, str):
        return _invalid_policy("Policy missing expiration.")
    try:
        expires_at = datetime.fromisoformat(expiration)
    except ValueError:
        expires_at = None
    # S3 takes the ISO 8601 GMT form, `2007-12-01T12:00:00.000Z`, with or without the millis.
    if expires_at is None or expires_at.tzinfo is None:
        return _invalid_policy(f"Invalid 'expiration' value: '{expiration}'")
    if now > expires_at:
        return _access_denied("Invalid according to Policy: Policy expired.")
    return None


@dataclass(frozen=True)
class _FieldCondition:
    operator: str  # "eq" or "starts-with"
    field: str  # lower-case form field name
    value: str


@dataclass(frozen=True)
class _SizeRange:
    smallest: int
    largest: int


def _check_conditions(
    conditions: list[object], fields: dict[str, str], file_size: int, bucket: str
) -> S3Refusal | None:
    covered: set[str] = set()
    size_ranges: list[_SizeRange] = []
    for condition in conditions:
        parsed = _parse_condition(condition)
        if isinstance(parsed, S3Refusal):
            return parsed
        if isinstance(parsed, _SizeRange):
            size_ranges.append(parsed)
            continue
        covered.add(parsed.field)
        # The bucket is the one posted to, not a form field a client could set.
        actual = bucket if parsed.field == "bucket" else fields.get(parsed.field, "")
        if not _satisfies(parsed, actual):
            # S3 quotes the condition back as the policy's JSON spelled it.
            return _access_denied(
                f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
            )
    extra = [
        name
        for name in fields
        if name not in covered
        and name not in _POST_EXEMPT_FIELDS
        and not name.startswith("x-ignore-")
    ]
    if extra:
        return _access_denied(
            f"Invalid according to Policy: Extra input fields: {', '.join(extra)}"
        )
    # The size is known last, once the file (the form's last part) has been read.
    for size_range in size_ranges:
        if file_size < size_range.smallest:
            return S3Refusal(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
            )
        if file_size > size_range.largest:
            return S3Refusal(
                400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            )
    return None


def _parse_condition(condition: object) -> _FieldCondition | _SizeRange | S3Refusal:
    if isinstance(condition, dict):
        if len(condition) != 1:
            return _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = condition.items()
        if not isinstance(value, str):
            return _invalid_policy(f"Invalid Simple-Condition: value must be a string: {name}")
        return _FieldCondition("eq", name.lower(), value)
    if not isinstance(condition, list) or len(condition) != 3 or not isinstance(condition[0], str):
        return _invalid_policy(f"Invalid Condition: {json.dumps(condition)}")
    operator, subject, value = condition[0].lower(), condition[1], condition[2]
    if operator == "content-length-range":
        smallest, largest = _size(subject), _size(value)
        if smallest is None or largest is None:
            return _invalid_policy(f"Invalid content-length-range: {json.dumps(condition)}")
        return _SizeRange(smallest, largest)
    if operator not in ("eq", "starts-with"):
        return _invalid_policy(f"Invalid Condition: unknown operator '{condition[0]}'")
    if not isinstance(subject, str) or not subject.startswith("$") or not isinstance(value, str):
        return _invalid_policy(f"Invalid Condition: {json.dumps(condition)}")
    return _FieldCondition(operator, subject[1:].lower(), value)


def _size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _satisfies(condition: _FieldCondition, actual: str) -> bool:
    if condition.operator == "eq":
        return actual == condition.value
    if condition.field == "content-type" and "," in actual:
        # S3 reads a comma-separated Content-Type as a list, every one of which must match.
        return all(part.strip().startswith(condition.value) for part in actual.split(","))
    return actual.startswith(condition.value)
