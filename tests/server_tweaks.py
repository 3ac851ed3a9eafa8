"""moto's S3 server and the GCS emulator made faster for our tests, without changing any answer
they give. Each tweak patches a private function of a pinned-by-range package: if a release
renames it, the tweak does nothing and the tests only run slower. `set_attribute` is
`MonkeyPatch.setattr` in a test session (undone at its end), plain `setattr` in a script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SetAttribute = Callable[[Any, str, Any], None]


def list_service_folders_once(set_attribute: SetAttribute = setattr) -> bool:
    """moto's dispatcher lists its own package folder (some 180 `isdir` calls) on every request,
    to see whether the Host header names a service: that made our S3 tests a third slower. The
    folder cannot change while the server runs, so it is listed once. True if patched."""
    from moto import backends

    listing = getattr(backends, "list_of_moto_modules", None)
    if listing is None:
        return False
    folders = tuple(listing())
    set_attribute(backends, "list_of_moto_modules", lambda: folders)
    return True


def skip_metadata_dumps_in_memory(set_attribute: SetAttribute = setattr) -> bool:
    """The GCS emulator writes the metadata of every object it holds, as indented JSON, after
    each change: quadratic in the objects, 39 % of its time in a lake's test. In memory it
    reads that file back only when it starts, so there the dump is skipped; on disk it stays.
    True if patched."""
    from gcp_storage_emulator.storage import Storage

    dump = getattr(Storage, "_write_config_to_file", None)
    if dump is None:
        return False

    def dump_unless_in_memory(self: Storage) -> None:
        if not getattr(self, "_use_memory_fs", False):
            dump(self)

    set_attribute(Storage, "_write_config_to_file", dump_unless_in_memory)
    return True
