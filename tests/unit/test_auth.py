import jwt
import pytest

from relay.platform import auth
from relay.platform.errors import Unauthorized

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
    monkeypatch.setattr(auth, "signing_key", lambda: KEY)

    assert auth.authorizer_context(None) == {"userId": "", "authError": ""}
    assert auth.authorizer_context(f"Bearer {auth.issue('bob', key=KEY)}") == {
        "userId": "bob",
        "authError": "",
    }
    assert auth.authorizer_context("Bearer nonsense") == {
        "userId": "",
        "authError": "invalid_token",
    }
