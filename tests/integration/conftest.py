"""Fixtures of the in-process tests that more than one module uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.user_pool import Pool, made


@pytest.fixture
def pool(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pool]:
    """A user pool and the avatars bucket in moto, named by the settings (accounts)."""
    yield from made(aws, monkeypatch)
