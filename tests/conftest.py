"""Shared fixtures: a demo site served on loopback for the whole session, and stores on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from takedown.demo.site import DemoSite
from takedown.store.sqlite import SQLiteCaseStore


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """The demo site, generated once per test session."""
    with DemoSite(tmp_path_factory.mktemp("demo-site")) as site:
        yield site


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteCaseStore]:
    """A fresh SQLite store on disk."""
    with SQLiteCaseStore(tmp_path / "store" / "takedown.sqlite") as opened:
        yield opened
