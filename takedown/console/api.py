"""The console's REST API under ``/api/v1``: token-authenticated, documented by its OpenAPI schema.

(Being built: ``add_api`` mounts the API's routes on the console application.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from takedown.report.base import Transport
from takedown.settings import Settings

__all__ = ["add_api"]


def add_api(app: Any, settings: Settings, *, make_transport: Callable[[], Transport]) -> None:
    """Mount the REST API's routes on the console application ``app``."""
