"""The local stack's own tests run against a copy of the fixture template in tests/localstack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Stack, eventually, relay

__all__ = ["Stack", "eventually", "make_project", "relay"]

FIXTURES = Path(__file__).parent / "fixtures"


def make_project(root: Path) -> Path:
    project = root / "project"
    shutil.copytree(FIXTURES, project, ignore=shutil.ignore_patterns("__pycache__"))
    return project


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    running = Stack(
        make_project(root), root / "state", "--concurrency", "2", "--async-retry-delay", "0"
    )
    try:
        yield running
    finally:
        running.stop()
