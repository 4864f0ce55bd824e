import pytest

from relay.platform.errors import Invalid
from relay.shortener import codes


def test_generated_codes_are_seven_base62_characters():
    generated = [codes.generate() for _ in range(2000)]

    assert all(len(code) == 7 and set(code) <= set(codes.ALPHABET) for code in generated)
    assert len(set(generated)) == len(generated)


def test_generated_codes_use_the_whole_alphabet():
    # A biased or truncated alphabet would make codes easier to guess.
    seen = set("".join(codes.generate() for _ in range(3000)))

    assert seen == set(codes.ALPHABET)


@pytest.mark.parametrize("code", ["my-link", "Launch_2026", "abcd", "x" * 32])
def test_well_formed_custom_codes_are_accepted(code):
    assert codes.check_custom(code) == code


@pytest.mark.parametrize("code", ["abc", "x" * 33, "has space", "slash/ed", "ümlaut", ""])
def test_malformed_custom_codes_are_refused(code):
    with pytest.raises(Invalid) as error:
        codes.check_custom(code)

    assert error.value.code == "invalid_custom_code"


@pytest.mark.parametrize("code", ["api", "API", "docs", "health", "admin"])
def test_reserved_custom_codes_are_refused(code):
    with pytest.raises(Invalid) as error:
        codes.check_custom(code)

    assert error.value.code == "reserved_code"
