import jwt
import pytest

from relay.platform import auth
from relay.platform.errors import Unauthorized
from tests.support.clock import FrozenClock

KEY = "unit-test-signing-key-of-a-proper-length-0123456789"


def test_a_token_names_its_user():
    assert auth.verify(auth.issue("alice", key=KEY), key=KEY) == "alice"


def test_an_expired_token_is_refused():
    token = auth.issue("alice", ttl_s=60, key=KEY, now=1_000_000)

    with pytest.raises(Unauthorized) as error:
        auth.verify(token, key=KEY)

    assert error.value.code == "token_expired"


def test_a_forged_token_is_refused():
    token = auth.issue("alice", key="another-signing-key-of-a-proper-length-0123456789")

    with pytest.raises(Unauthorized) as error:
        auth.verify(token, key=KEY)

    assert error.value.code == "invalid_token"


def test_a_token_without_expiry_is_refused():
    token = jwt.encode({"sub": "alice"}, KEY, algorithm="HS256")

    with pytest.raises(Unauthorized):
        auth.verify(token, key=KEY)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_other_authorization_schemes_are_refused(header):
    with pytest.raises(Unauthorized):
        auth.bearer_token(header)


def test_the_authorizer_never_denies_but_says_why(monkeypatch):
    monkeypatch.setattr(auth, "keys", lambda: auth.SigningKey(lambda: KEY))

    assert auth.authorizer_context(None) == {"userId": "", "authError": ""}
    assert auth.authorizer_context(f"Bearer {auth.issue('bob', key=KEY)}") == {
        "userId": "bob",
        "authError": "",
    }
    assert auth.authorizer_context("Bearer nonsense") == {
        "userId": "",
        "authError": "invalid_token",
    }


class RotatingSecret:
    """Secrets Manager as the authorizer sees it: a current key that rotation replaces."""

    def __init__(self, key):
        self.key = key
        self.fetches = 0

    def __call__(self):
        self.fetches += 1
        return self.key


NEW_KEY = "rotated-signing-key-of-a-proper-length-0123456789abcdef"


def test_a_token_signed_with_the_rotated_key_is_accepted_without_a_cold_start():
    secret, clock = RotatingSecret(KEY), FrozenClock()
    signing = auth.SigningKey(secret, clock)
    assert auth.verify(auth.issue("alice", key=KEY), signing=signing) == "alice"

    secret.key = NEW_KEY  # rotated; this instance still holds the old key
    clock.advance(11)

    assert auth.verify(auth.issue("alice", key=NEW_KEY), signing=signing) == "alice"
    assert secret.fetches == 2


def test_the_kept_key_is_fetched_again_after_five_minutes():
    secret, clock = RotatingSecret(KEY), FrozenClock()
    signing = auth.SigningKey(secret, clock)
    assert signing.current() == KEY

    secret.key = NEW_KEY
    clock.advance(299)
    assert signing.current() == KEY
    clock.advance(1)

    assert signing.current() == NEW_KEY


def test_forged_tokens_cannot_make_the_authorizer_fetch_the_secret_on_every_call():
    secret, clock = RotatingSecret(KEY), FrozenClock()
    signing = auth.SigningKey(secret, clock)
    forged = auth.issue("mallory", key="another-signing-key-of-a-proper-length-0123456789")

    for _ in range(50):
        with pytest.raises(Unauthorized) as error:
            auth.verify(forged, signing=signing)
        assert error.value.code == "invalid_token"
        clock.advance(0.1)

    assert secret.fetches == 1  # the first fetch; the next forced one only after 10 s


def test_an_expired_or_malformed_token_causes_no_fetch():
    secret, clock = RotatingSecret(KEY), FrozenClock()
    signing = auth.SigningKey(secret, clock)
    signing.current()
    clock.advance(60)

    for token in (auth.issue("alice", ttl_s=60, key=KEY, now=1_000_000), "not-a-jwt"):
        with pytest.raises(Unauthorized):
            auth.verify(token, signing=signing)

    assert secret.fetches == 1


@pytest.mark.parametrize("token", ["\ud800", "eyJhbGciOiJIUzI1NiJ9.\udcff.x", "é.é.é"])
def test_a_token_that_is_not_text_is_refused_not_a_crash(token):
    with pytest.raises(Unauthorized):
        auth.verify(token, key=KEY)


@pytest.mark.parametrize("subject", ["", "x" * 129, "line\nbreak"])
def test_a_token_naming_an_unusable_user_id_is_refused(subject):
    token = jwt.encode({"sub": subject, "exp": 4_102_444_800}, KEY, algorithm="HS256")

    with pytest.raises(Unauthorized) as error:
        auth.verify(token, key=KEY)

    assert error.value.code == "invalid_token"
