"""Cognito access tokens verified as the Lambda authorizer verifies them: RS256 against the
pool's key set, and every refusal DESIGN names."""

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from relay.platform import auth
from relay.platform.errors import Unauthorized
from relay_local.tokens import moto_key_set
from tests.support.accounts import claims, mint
from tests.support.clock import FrozenClock

POOL = auth.Pool("us-east-1", "us-east-1_RelayUnit", "relayunitclient")
NOW = 1_800_000_000


class Cognito:
    """The pool's JWKS endpoint: moto's public keys, counting fetches; `down` fails them."""

    def __init__(self, document=None):
        self.document = document or moto_key_set().document
        self.fetches = 0
        self.down = False

    def __call__(self):
        self.fetches += 1
        if self.down:
            raise OSError("connection refused")
        return self.document


def token(sub="alice", **changes):
    made = claims(POOL.pool_id, POOL.client_id, sub, iat=NOW - 10, exp=NOW + 3590)
    return mint({**made, **changes})


def verify(value, key_set=None, clock=None):
    clock = clock or FrozenClock(NOW * 1000)
    return auth.verify(value, accepted=POOL, key_set=key_set or auth.KeySet(Cognito()), clock=clock)


def refusal(value, key_set=None, clock=None):
    with pytest.raises(Unauthorized) as error:
        verify(value, key_set, clock)
    assert error.value.status == 401
    return error.value.code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_an_access_token_names_its_user_when_it_was_issued_and_its_groups():
    identity = verify(token("alice", **{"cognito:groups": ["operators", "bad group"]}))

    assert identity == auth.Identity("alice", NOW - 10, ("operators",))


def test_the_pool_of_a_deployment_is_cognitos_own_unless_the_local_stack_names_it():
    assert POOL.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_RelayUnit"
    assert POOL.key_set_url == POOL.issuer + "/.well-known/jwks.json"
    local = auth.Pool("us-east-1", "p", "c", "http://127.0.0.1:3002/p/.well-known/jwks.json")
    assert local.key_set_url == "http://127.0.0.1:3002/p/.well-known/jwks.json"


def test_an_expired_token_is_refused_as_expired():
    assert refusal(token(exp=NOW)) == "token_expired"


def _tampered(value: str) -> str:
    header, payload, signature = value.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["sub"] = "mallory"
    return f"{header}.{_b64(json.dumps(data).encode())}.{signature}"


def _hs256_with_the_public_key(value: str) -> str:
    """The algorithm confusion: HS256 keyed with the pool's public key (which anyone has)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    payload = value.split(".")[1]
    public = moto_key_set().key("dummy")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _another_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSED = {
    "tampered payload": lambda: _tampered(token()),
    "alg none": lambda: mint(claims(POOL.pool_id, POOL.client_id, "alice"), algorithm="none"),
    "HS256 keyed with the public key": lambda: _hs256_with_the_public_key(token()),
    "RS512": lambda: mint(claims(POOL.pool_id, POOL.client_id, "a"), algorithm="RS512"),
    "another pool's issuer": lambda: token(
        iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Another"
    ),
    "another client's": lambda: token(client_id="anotherclient"),
    "an id token": lambda: mint(
        claims(POOL.pool_id, POOL.client_id, "alice", token_use="id", iat=NOW, exp=NOW + 60)
    ),
    "no token_use": lambda: token(token_use=None),
    "a lone surrogate in sub": lambda: token("\ud800"),
    "a lone surrogate in another claim": lambda: token(username="x\udcff"),
    "an unknown kid": lambda: mint(claims(POOL.pool_id, POOL.client_id, "a"), kid="forged"),
    "signed with another key": lambda: mint(
        claims(POOL.pool_id, POOL.client_id, "alice"), key=_another_key()
    ),
    "garbage": lambda: "garbage",
    "three dots of nothing": lambda: "..",
    "a lone surrogate in the token": lambda: "eyJhbGciOiJSUzI1NiJ9.\udcff.x",
    "not ASCII": lambda: "é.é.é",
    "no sub": lambda: token(sub=None),
    "an empty sub": lambda: token(""),
    "a sub with a line break": lambda: token("line\nbreak"),
    "a very long sub": lambda: token("x" * 129),
    "a sub that is a number": lambda: token(sub=42),
    "no exp": lambda: token(exp=None),
    "an exp that is text": lambda: token(exp="soon"),
    "issued in the future": lambda: token(iat=NOW + 3600),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_every_bad_token_is_a_401_never_a_crash(case):
    assert refusal(REFUSED[case]()) == "invalid_token"


def test_the_key_set_is_fetched_once_per_environment():
    cognito, clock = Cognito(), FrozenClock(NOW * 1000)
    keys = auth.KeySet(cognito, clock)

    for _ in range(20):
        assert verify(token(), keys, clock).sub == "alice"
        clock.advance(60)

    assert cognito.fetches == 1


def test_a_forged_kid_cannot_make_a_fetch_per_request():
    cognito, clock = Cognito(), FrozenClock(NOW * 1000)
    keys = auth.KeySet(cognito, clock)
    forged = mint(claims(POOL.pool_id, POOL.client_id, "a", iat=NOW, exp=NOW + 9999), kid="x")

    for _ in range(100):
        assert refusal(forged, keys, clock) == "invalid_token"
        clock.advance(1)

    assert cognito.fetches == 1  # the first; the next only after REFETCH_EVERY_MS
    clock.advance(auth.REFETCH_EVERY_MS / 1000)
    refusal(forged, keys, clock)
    assert cognito.fetches == 2


def test_a_rotated_key_is_fetched_when_a_token_names_it():
    rotated = {"keys": [{**moto_key_set().document["keys"][0], "kid": "rotated"}]}
    cognito, clock = Cognito({"keys": []}), FrozenClock(NOW * 1000)
    keys = auth.KeySet(cognito, clock)
    fresh = mint(claims(POOL.pool_id, POOL.client_id, "a", iat=NOW, exp=NOW + 9999), kid="rotated")
    assert refusal(fresh, keys, clock) == "invalid_token"

    cognito.document = rotated
    clock.advance(auth.REFETCH_EVERY_MS / 1000)

    assert verify(fresh, keys, clock).sub == "a"
    assert cognito.fetches == 2


def test_cognito_unreachable_refuses_and_tries_again_soon_not_per_request():
    cognito, clock = Cognito(), FrozenClock(NOW * 1000)
    cognito.down = True
    keys = auth.KeySet(cognito, clock)

    for _ in range(5):
        assert refusal(token(), keys, clock) == "invalid_token"
    assert cognito.fetches == 1

    cognito.down = False
    clock.advance(auth.RETRY_EVERY_MS / 1000)
    assert verify(token(), keys, clock).sub == "alice"
    assert cognito.fetches == 2


def test_a_malformed_key_set_is_no_key_not_a_crash():
    keys = auth.KeySet(Cognito({"keys": [{"kty": "RSA", "kid": "dummy", "n": "?", "e": "?"}]}))

    assert refusal(token(), keys) == "invalid_token"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_other_authorization_schemes_are_refused(header):
    with pytest.raises(Unauthorized):
        auth.bearer_token(header)


@pytest.fixture
def deployment(monkeypatch):
    keys = auth.KeySet(Cognito())
    monkeypatch.setattr(auth, "pool", lambda: POOL)
    monkeypatch.setattr(auth, "keys", lambda: keys)


def _live_token(sub="bob", **changes):
    import time

    now = int(time.time())
    return mint({**claims(POOL.pool_id, POOL.client_id, sub, iat=now, exp=now + 60), **changes})


def test_the_http_authorizer_never_denies_but_says_why(deployment):
    good = _live_token("bob", **{"cognito:groups": ["operators"]})

    assert auth.authorizer_context(None) == {
        "userId": "",
        "authError": "",
        "issuedAt": "",
        "groups": "",
    }
    context = auth.authorizer_context(f"Bearer {good}")
    assert (context["userId"], context["authError"], context["groups"]) == ("bob", "", "operators")
    assert context["issuedAt"].isdigit()
    for bad, code in (
        ("Bearer nonsense", "invalid_token"),
        ("Basic abc", "invalid_token"),
        (f"Bearer {_live_token(exp=1)}", "token_expired"),
    ):
        assert auth.authorizer_context(bad) == {
            "userId": "",
            "authError": code,
            "issuedAt": "",
            "groups": "",
        }


def test_the_connect_authorizer_allows_a_good_token_and_refuses_the_rest(deployment):
    policy = auth.connect_policy(_live_token("bob"), "arn:connect")

    assert policy["principalId"] == "bob"
    assert policy["context"]["userId"] == "bob"
    assert policy["policyDocument"]["Statement"][0]["Resource"] == "arn:connect"
    for bad in (None, "", "garbage", _live_token(token_use="id"), _live_token(exp=1)):
        with pytest.raises(auth.Refused) as refused:
            auth.connect_policy(bad, "arn:connect")
        assert str(refused.value) == "Unauthorized"


def test_a_token_seen_before_is_not_verified_again_but_still_expires():
    cognito, clock = Cognito(), FrozenClock(NOW * 1000)
    keys = auth.KeySet(cognito, clock)
    value = token()
    assert verify(value, keys, clock).sub == "alice"
    cognito.document = {"keys": []}  # were it checked again, its key would be unknown

    assert verify(value, keys, clock).sub == "alice"
    assert (value, POOL) in keys.verified
    clock.advance(3600)
    assert refusal(value, keys, clock) == "token_expired"


def test_the_tokens_kept_are_bounded():
    keys = auth.KeySet(Cognito())
    for n in range(auth.VERIFIED_KEPT + 5):
        verify(token(f"user{n}"), keys)

    assert len(keys.verified) <= auth.VERIFIED_KEPT
