"""The local stack refuses presigned S3 requests and POST uploads the way S3 does.

Every URL and form here is made by boto3's own presigner, so what is checked is what real
clients send: Signature Version 4 (`s3v4`), Version 2 (`s3`) and whatever the client picks by
default. Time is passed in, never slept through.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from relay_local.state.s3_auth import (
    S3Refusal,
    check_post_policy,
    check_presigned,
    is_presigned,
)

ENDPOINT = "http://127.0.0.1:4566"
BUCKET = "attachments"
KEY = "conv-1/photo.png"
LIFETIME = 300
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
# The local stack signs with testing/testing; any other key is fine when the lookup knows it.
SECRETS = {"testing": "testing", "AKIDRELAYEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"}

# None is the client's own default, whatever botocore picks for a custom endpoint.
VERSIONS = pytest.mark.parametrize("version", ["s3v4", "s3", None], ids=["v4", "v2", "default"])


def secret_for(access_key: str) -> str | None:
    return SECRETS.get(access_key)


def s3_client(version: str | None, access_key: str = "testing", secret: str | None = None):
    """A client that presigns as the local stack's functions do; secret defaults to the key's."""
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret or SECRETS.get(access_key, "unknown-secret"),
        config=Config(signature_version=version) if version else None,
    )


@dataclass(frozen=True)
class Sent:
    """A request as the local stack receives it from a client holding a presigned URL."""

    method: str
    raw_path: str
    query: str
    headers: dict[str, str]

    def check(self, now: datetime) -> S3Refusal | None:
        return check_presigned(
            self.method, self.raw_path, self.query, self.headers, secret_for, now
        )

    def with_headers(self, **headers: str) -> Sent:
        return replace(self, headers={**self.headers, **headers})

    def with_param(self, name: str, value: str) -> Sent:
        """The same request with one query parameter's raw value replaced."""
        pairs = [part.partition("=") for part in self.query.split("&")]
        query = "&".join(f"{n}={value if n == name else v}" for n, _, v in pairs)
        assert query != self.query, f"{name} is not in the query"
        return replace(self, query=query)


def presign(
    version: str | None,
    operation: str,
    params: Mapping[str, object],
    *,
    expires_in: int = LIFETIME,
    headers: dict[str, str] | None = None,
    access_key: str = "testing",
    secret: str | None = None,
) -> Sent:
    url = s3_client(version, access_key, secret).generate_presigned_url(
        operation, Params=params, ExpiresIn=expires_in
    )
    parts = urlsplit(url)
    method = "GET" if operation.startswith(("get_", "list_")) else "PUT"
    return Sent(method, parts.path, parts.query, {"host": parts.netloc, **(headers or {})})


def put_url(version: str | None, **kwargs) -> Sent:
    params = {"Bucket": BUCKET, "Key": KEY, "ContentType": "image/png"}
    return presign(version, "put_object", params, headers={"content-type": "image/png"}, **kwargs)


def get_url(version: str | None, **kwargs) -> Sent:
    return presign(version, "get_object", {"Bucket": BUCKET, "Key": KEY}, **kwargs)


@pytest.fixture
def signed_at() -> datetime:
    """The clock when a test presigns: botocore stamps its URLs from the real clock."""
    return datetime.now(UTC)


def soon_after(signed_at: datetime) -> datetime:
    return signed_at + timedelta(seconds=30)


# -- presigned URLs that S3 serves --------------------------------------------------------


@VERSIONS
def test_presigned_put_with_the_signed_content_type_is_accepted(version, signed_at):
    # Given a presigned PUT for an image and a client sending that Content-Type
    sent = put_url(version)

    # When the local stack checks it within its lifetime
    refusal = sent.check(soon_after(signed_at))

    # Then S3 would store it
    assert refusal is None


@VERSIONS
def test_presigned_get_is_accepted(version, signed_at):
    # Given a presigned GET
    sent = get_url(version)

    # When it is used within its lifetime
    refusal = sent.check(soon_after(signed_at))

    # Then it is served
    assert refusal is None


@VERSIONS
def test_presigned_get_with_a_response_override_is_accepted(version, signed_at):
    # Given a download URL that asks S3 to answer with an attachment disposition
    params = {
        "Bucket": BUCKET,
        "Key": KEY,
        "ResponseContentDisposition": 'attachment; filename="photo 1.png"',
    }
    sent = presign(version, "get_object", params)

    # When it is used
    refusal = sent.check(soon_after(signed_at))

    # Then it is served
    assert refusal is None


@VERSIONS
def test_presigned_put_for_a_key_needing_escapes_is_accepted(version, signed_at):
    # Given a key with a space, a plus, punctuation and non-ASCII letters
    params = {"Bucket": BUCKET, "Key": "conv-1/été 2024+(draft)!~.png"}
    sent = presign(version, "put_object", params)

    # When the client sends the URL exactly as it was given
    refusal = sent.check(soon_after(signed_at))

    # Then it is accepted
    assert refusal is None


@VERSIONS
def test_any_access_key_the_lookup_knows_is_accepted(version, signed_at):
    # Given a URL signed with a key other than the local stack's own
    sent = get_url(version, access_key="AKIDRELAYEXAMPLE")

    # When it is used
    refusal = sent.check(soon_after(signed_at))

    # Then the lookup's secret verifies it
    assert refusal is None


@VERSIONS
def test_presigned_url_is_valid_until_its_last_second(version, signed_at):
    # Given a URL that lives five minutes
    sent = get_url(version)

    # When it is used just before they are up
    refusal = sent.check(signed_at + timedelta(seconds=LIFETIME - 1))

    # Then it is still served
    assert refusal is None


def test_presign_dated_slightly_ahead_of_the_clock_is_accepted(signed_at):
    # Given a v4 URL whose signer's clock runs five minutes ahead of the server's
    sent = get_url("s3v4")

    # When it is used
    refusal = sent.check(signed_at - timedelta(minutes=5))

    # Then S3's clock-skew allowance covers it
    assert refusal is None


# -- presigned URLs that S3 refuses -------------------------------------------------------


@VERSIONS
def test_expired_presigned_put_is_access_denied(version, signed_at):
    # Given a presigned PUT that lived five minutes
    sent = put_url(version)

    # When it is used after they are up
    refusal = sent.check(signed_at + timedelta(seconds=LIFETIME + 5))

    # Then S3 refuses it as expired
    assert refusal == S3Refusal(403, "AccessDenied", "Request has expired")


def test_presign_dated_an_hour_ahead_is_not_yet_valid(signed_at):
    # Given a v4 URL signed by a clock an hour ahead of the server's
    sent = get_url("s3v4")

    # When it is used
    refusal = sent.check(signed_at - timedelta(hours=1))

    # Then S3 refuses it as not yet valid
    assert refusal == S3Refusal(403, "AccessDenied", "Request is not yet valid")


@VERSIONS
def test_presigned_put_for_another_key_is_signature_mismatch(version, signed_at):
    # Given a URL for one key, used to write another
    sent = put_url(version)
    sent = replace(sent, raw_path=sent.raw_path.replace("photo.png", "other.png"))

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signature does not cover it
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


@VERSIONS
def test_presigned_put_into_another_bucket_is_signature_mismatch(version, signed_at):
    # Given a URL for one bucket, pointed at another
    sent = put_url(version)
    sent = replace(sent, raw_path=sent.raw_path.replace(f"/{BUCKET}/", "/other-bucket/"))

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signature does not cover it
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


@VERSIONS
def test_presigned_get_with_an_added_version_id_is_signature_mismatch(version, signed_at):
    # Given a URL for the current object, extended to fetch an old version
    sent = get_url(version)
    sent = replace(sent, query=f"{sent.query}&versionId=3HL4kqtJlcpXroDTDmJ%2Bdf")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signature does not cover the new parameter
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


@VERSIONS
def test_presigned_get_with_a_changed_response_override_is_signature_mismatch(version, signed_at):
    # Given a download URL whose disposition the client rewrites
    params = {"Bucket": BUCKET, "Key": KEY, "ResponseContentDisposition": "attachment"}
    sent = presign(version, "get_object", params)
    sent = sent.with_param("response-content-disposition", "inline")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signature does not cover it
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("version", "parameter"),
    [("s3v4", "X-Amz-Signature"), ("s3", "Signature")],
    ids=["v4", "v2"],
)
def test_tampered_signature_is_signature_mismatch(version, parameter, signed_at):
    # Given a URL whose signature lost a character
    sent = get_url(version)
    original = dict(part.split("=", 1) for part in sent.query.split("&"))[parameter]
    sent = sent.with_param(parameter, ("A" if original[0] != "A" else "B") + original[1:])

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 refuses it
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


@pytest.mark.parametrize(
    ("version", "parameter"),
    [("s3v4", "X-Amz-Signature"), ("s3", "Signature")],
    ids=["v4", "v2"],
)
def test_signature_that_is_not_ascii_is_signature_mismatch(version, parameter, signed_at):
    # Given a URL whose signature a client replaced with non-ASCII text
    sent = get_url(version).with_param(parameter, "%C3%A9t%C3%A9")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then it is refused like any other wrong signature
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


def test_v4_presign_with_a_stretched_lifetime_is_signature_mismatch(signed_at):
    # Given a v4 URL whose X-Amz-Expires the client raised from five minutes to an hour
    sent = get_url("s3v4").with_param("X-Amz-Expires", "3600")

    # When it is used after the five minutes it was signed for
    refusal = sent.check(signed_at + timedelta(minutes=30))

    # Then the signature gives it away
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


def test_v2_presign_with_a_moved_expiry_is_signature_mismatch(signed_at):
    # Given a v2 URL whose Expires the client moved an hour later
    sent = get_url("s3")
    expires = dict(part.split("=", 1) for part in sent.query.split("&"))["Expires"]
    sent = sent.with_param("Expires", str(int(expires) + 3600))

    # When it is used after its real expiry
    refusal = sent.check(signed_at + timedelta(minutes=30))

    # Then the signature gives it away
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


@VERSIONS
def test_presigned_put_with_another_content_type_than_signed_is_signature_mismatch(
    version, signed_at
):
    # Given a PUT signed for an image, sent as HTML
    sent = put_url(version).with_headers(**{"content-type": "text/html"})

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 refuses it
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


def test_v4_presigned_put_without_the_signed_content_type_is_signature_mismatch(signed_at):
    # Given a v4 PUT signed for an image, sent with no Content-Type at all
    sent = put_url("s3v4")
    sent = replace(sent, headers={"host": sent.headers["host"]})

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signed header is missing from what S3 computes
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


def test_v4_presign_sent_to_another_host_is_signature_mismatch(signed_at):
    # Given a v4 URL signed for one port, replayed to another
    sent = get_url("s3v4").with_headers(host="127.0.0.1:9999")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then the signed host does not match
    assert refusal is not None
    assert refusal.code == "SignatureDoesNotMatch"


@VERSIONS
def test_presign_with_the_wrong_secret_is_signature_mismatch(version, signed_at):
    # Given a URL signed with the right key id and a wrong secret
    sent = get_url(version, secret="not-the-secret")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 refuses it
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


@VERSIONS
def test_presign_with_an_unknown_access_key_is_invalid_access_key_id(version, signed_at):
    # Given a URL signed by a key the lookup does not know
    sent = get_url(version, access_key="AKIDNOBODY")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 says the key does not exist
    assert refusal == S3Refusal(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )


def test_v4_presign_longer_than_a_week_is_refused(signed_at):
    # Given a v4 URL asking to live a week and a second
    sent = get_url("s3v4", expires_in=7 * 24 * 3600 + 1)

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 refuses the lifetime itself
    assert refusal is not None
    assert (refusal.status, refusal.code) == (400, "AuthorizationQueryParametersError")
    assert "604800" in refusal.message


def test_v4_presign_of_exactly_a_week_is_accepted(signed_at):
    # Given a v4 URL asking for S3's longest lifetime
    sent = get_url("s3v4", expires_in=7 * 24 * 3600)

    # When it is used on its sixth day
    refusal = sent.check(signed_at + timedelta(days=6))

    # Then it is served
    assert refusal is None


def test_v4_presign_missing_a_parameter_is_refused(signed_at):
    # Given a v4 URL that lost its X-Amz-Date
    sent = get_url("s3v4")
    sent = replace(
        sent,
        query="&".join(p for p in sent.query.split("&") if not p.startswith("X-Amz-Date=")),
    )

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 names the parameters it needs
    assert refusal is not None
    assert (refusal.status, refusal.code) == (400, "AuthorizationQueryParametersError")
    assert "X-Amz-Date" in refusal.message


def test_v2_presign_missing_its_access_key_is_access_denied(signed_at):
    # Given a v2 URL that lost its AWSAccessKeyId
    sent = get_url("s3")
    sent = replace(
        sent,
        query="&".join(p for p in sent.query.split("&") if not p.startswith("AWSAccessKeyId=")),
    )

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 names the parameters it needs
    assert refusal == S3Refusal(
        403,
        "AccessDenied",
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
    )


def test_v4_presign_with_an_unsigned_amz_header_is_access_denied(signed_at):
    # Given a v4 PUT to which the client adds a metadata header it did not sign
    sent = put_url("s3v4").with_headers(**{"x-amz-meta-owner": "mallory"})

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 refuses the unsigned header
    assert refusal == S3Refusal(
        403, "AccessDenied", "There were headers present in the request which were not signed"
    )


@VERSIONS
def test_presign_with_signed_amz_headers_is_accepted(version, signed_at):
    # Given a PUT signed with an ACL and metadata, and a client sending both
    params = {"Bucket": BUCKET, "Key": KEY, "ACL": "private", "Metadata": {"owner": "ada"}}
    headers = {"x-amz-acl": "private", "x-amz-meta-owner": "ada"}
    sent = presign(version, "put_object", params, headers=headers)

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then it is accepted
    assert refusal is None


@VERSIONS
def test_presign_with_an_authorization_header_too_is_invalid_argument(version, signed_at):
    # Given a presigned URL sent with an Authorization header as well
    sent = get_url(version).with_headers(authorization="AWS testing:abc")

    # When it is checked
    refusal = sent.check(soon_after(signed_at))

    # Then S3 allows one auth mechanism only
    assert refusal is not None
    assert (refusal.status, refusal.code) == (400, "InvalidArgument")


@VERSIONS
def test_a_presigned_query_is_recognised(version):
    # Given a presigned URL of either signature version
    sent = get_url(version)

    # When its query is inspected
    # Then it is recognised as query authentication
    assert is_presigned(sent.query)


def test_a_plain_query_is_not_presigned_and_not_refused(signed_at):
    # Given an ordinary request with a query and no query authentication
    query = "list-type=2&prefix=conv-1%2F"

    # When it is inspected and checked
    refusal = check_presigned(
        "GET", f"/{BUCKET}", query, {"host": "127.0.0.1:4566"}, secret_for, signed_at
    )

    # Then it is neither presigned nor refused here
    assert not is_presigned(query)
    assert refusal is None


def test_refusal_xml_is_s3_error_body():
    # Given a refusal
    refusal = S3Refusal(403, "AccessDenied", "Request has expired & <gone>")

    # When it is rendered
    root = ET.fromstring(refusal.xml())  # noqa: S314 - our own bytes, not untrusted input

    # Then it is S3's <Error> document, with the message escaped
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "Request has expired & <gone>"
    assert root.findtext("RequestId")


# -- presigned POST uploads ---------------------------------------------------------------

MAX_SIZE = 1024 * 1024
POST_LIFETIME = 600


def chat_attachment_post(version: str | None, access_key: str = "testing") -> dict[str, str]:
    """A form the way a chat handler issues it: one conversation's prefix, images, 1 MiB."""
    post = s3_client(
        version, access_key, SECRETS.get(access_key, "whatever")
    ).generate_presigned_post(
        BUCKET,
        "conv-1/${filename}",
        Fields={"Content-Type": "image/png"},
        Conditions=[
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", 1, MAX_SIZE],
        ],
        ExpiresIn=POST_LIFETIME,
    )
    return dict(post["fields"])


def upload(form: dict[str, str], now: datetime, size: int = 2048, bucket: str = BUCKET):
    return check_post_policy(form, size, bucket, secret_for, now)


def policy_of(form: dict[str, str]) -> dict[str, list[object]]:
    policy: dict[str, list[object]] = json.loads(base64.b64decode(form["policy"]))
    return policy


@VERSIONS
def test_presigned_post_within_its_policy_is_accepted(version, signed_at):
    # Given a chat attachment form and a 2 KiB PNG
    form = chat_attachment_post(version)

    # When the browser posts it
    refusal = upload(form, soon_after(signed_at))

    # Then S3 stores it
    assert refusal is None


@pytest.mark.parametrize("size", [1, MAX_SIZE], ids=["smallest", "largest"])
def test_presigned_post_at_its_size_limits_is_accepted(size, signed_at):
    # Given a form allowing 1 byte to 1 MiB
    form = chat_attachment_post("s3v4")

    # When a file exactly at a limit is posted
    refusal = upload(form, soon_after(signed_at), size=size)

    # Then the range is inclusive
    assert refusal is None


@VERSIONS
def test_presigned_post_larger_than_allowed_is_entity_too_large(version, signed_at):
    # Given a form allowing at most 1 MiB
    form = chat_attachment_post(version)

    # When a file one byte larger is posted
    refusal = upload(form, soon_after(signed_at), size=MAX_SIZE + 1)

    # Then S3 refuses it as too large
    assert refusal == S3Refusal(
        400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
    )


@VERSIONS
def test_empty_presigned_post_is_entity_too_small(version, signed_at):
    # Given a form requiring at least one byte
    form = chat_attachment_post(version)

    # When an empty file is posted
    refusal = upload(form, soon_after(signed_at), size=0)

    # Then S3 refuses it as too small
    assert refusal == S3Refusal(
        400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
    )


@VERSIONS
def test_presigned_post_outside_its_key_prefix_is_access_denied(version, signed_at):
    # Given a form for conversation 1, posted into conversation 2
    form = {**chat_attachment_post(version), "key": "conv-2/photo.png"}

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 quotes the condition that failed
    assert refusal == S3Refusal(
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "conv-1/"]',
    )


@VERSIONS
def test_presigned_post_with_another_content_type_is_access_denied(version, signed_at):
    # Given an image form, posted as HTML
    form = {**chat_attachment_post(version), "Content-Type": "text/html"}

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then the content-type condition fails
    assert refusal is not None
    assert refusal.code == "AccessDenied"
    assert refusal.message.startswith("Invalid according to Policy: Policy Condition failed: ")
    assert "$Content-Type" in refusal.message


def test_presigned_post_content_type_list_must_all_match_the_prefix(signed_at):
    # Given an image form
    form = chat_attachment_post("s3v4")

    # When it is posted with a list of image types, and with a list hiding HTML
    images = upload({**form, "Content-Type": "image/png,image/gif"}, soon_after(signed_at))
    hidden = upload({**form, "Content-Type": "image/png,text/html"}, soon_after(signed_at))

    # Then S3 checks every type in the list
    assert images is None
    assert hidden is not None
    assert hidden.code == "AccessDenied"


@VERSIONS
def test_presigned_post_with_an_uncovered_field_is_access_denied(version, signed_at):
    # Given a form to which the client adds a field the policy does not name
    form = {**chat_attachment_post(version), "x-amz-meta-Owner": "mallory"}

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 names the extra field, in lower case
    assert refusal == S3Refusal(
        403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-owner"
    )


def test_presigned_post_x_ignore_fields_need_no_condition(signed_at):
    # Given a form with a field S3 is told to ignore
    form = {**chat_attachment_post("s3v4"), "x-ignore-upload-id": "42"}

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then it is accepted
    assert refusal is None


@VERSIONS
def test_expired_presigned_post_is_access_denied(version, signed_at):
    # Given a form whose policy expires in ten minutes
    form = chat_attachment_post(version)

    # When it is posted after they are up
    refusal = upload(form, signed_at + timedelta(seconds=POST_LIFETIME + 5))

    # Then S3 refuses the expired policy
    assert refusal == S3Refusal(403, "AccessDenied", "Invalid according to Policy: Policy expired.")


@VERSIONS
def test_presigned_post_with_a_rewritten_policy_is_signature_mismatch(version, signed_at):
    # Given a form whose policy the client rewrote to allow 100 MiB
    form = chat_attachment_post(version)
    policy = policy_of(form)
    for condition in policy["conditions"]:
        if isinstance(condition, list) and condition[0] == "content-length-range":
            condition[2] = 100 * MAX_SIZE
    form["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()

    # When a large file is posted with it
    refusal = upload(form, soon_after(signed_at), size=50 * MAX_SIZE)

    # Then the signature no longer matches the policy
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


@pytest.mark.parametrize(
    ("version", "field"), [("s3v4", "x-amz-signature"), ("s3", "signature")], ids=["v4", "v2"]
)
def test_presigned_post_with_a_bad_signature_is_signature_mismatch(version, field, signed_at):
    # Given a form whose signature lost a character
    form = chat_attachment_post(version)
    form[field] = ("a" if form[field][0] != "a" else "b") + form[field][1:]

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 refuses it
    assert refusal == S3Refusal(403, "SignatureDoesNotMatch", MISMATCH)


@VERSIONS
def test_presigned_post_to_another_bucket_is_access_denied(version, signed_at):
    # Given a form for the attachments bucket, posted to another bucket
    form = chat_attachment_post(version)

    # When it is checked
    refusal = upload(form, soon_after(signed_at), bucket="avatars")

    # Then the bucket condition fails
    assert refusal == S3Refusal(
        403,
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: {"bucket": "attachments"}',
    )


@VERSIONS
def test_presigned_post_with_an_unknown_access_key_is_invalid_access_key_id(version, signed_at):
    # Given a form signed by a key the lookup does not know
    form = chat_attachment_post(version, access_key="AKIDNOBODY")

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 says the key does not exist
    assert refusal is not None
    assert (refusal.status, refusal.code) == (403, "InvalidAccessKeyId")


def test_presigned_post_without_a_key_is_invalid_argument(signed_at):
    # Given a form that lost its key field
    form = chat_attachment_post("s3v4")
    del form["key"]

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 asks for the key
    assert refusal == S3Refusal(
        400,
        "InvalidArgument",
        "Bucket POST must contain a field named 'key'.  "
        "If it is specified, please check the order of the fields.",
    )


def test_presigned_post_missing_a_signing_field_is_invalid_argument(signed_at):
    # Given a v4 form that lost its credential
    form = chat_attachment_post("s3v4")
    del form["x-amz-credential"]

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then S3 names the missing field
    assert refusal is not None
    assert (refusal.status, refusal.code) == (400, "InvalidArgument")
    assert "'X-Amz-Credential'" in refusal.message


def test_unsigned_post_is_access_denied(signed_at):
    # Given a form stripped of everything that signs it
    form = {
        name: value
        for name, value in chat_attachment_post("s3v4").items()
        if not name.startswith("x-amz-")
    }

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then it is an anonymous upload, which a private bucket refuses
    assert refusal == S3Refusal(403, "AccessDenied", "Access Denied")


def test_presigned_post_field_names_are_read_without_case(signed_at):
    # Given a form whose fields the page spells the way S3's documentation does
    form = chat_attachment_post("s3")
    form["Policy"] = form.pop("policy")
    form["Signature"] = form.pop("signature")
    form["Key"] = form.pop("key")

    # When it is checked
    refusal = upload(form, soon_after(signed_at))

    # Then it is the same form
    assert refusal is None
