"""moto's S3 server made faster for our tests, without changing any answer it gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def list_service_folders_once(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """moto's dispatcher lists its own package folder (some 180 `isdir` calls) on every request,
    to see whether the Host header names a service: that made our S3 tests a third slower. The
    folder cannot change while the server runs, so it is listed once. `set_attribute` is
    `MonkeyPatch.setattr` in a test session (undone at its end), plain `setattr` in a script."""
    from moto import backends

    folders = tuple(backends.list_of_moto_modules())
    set_attribute(backends, "list_of_moto_modules", lambda: folders)
