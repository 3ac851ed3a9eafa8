"""moto's S3 server and the GCS emulator made faster for our tests, without changing any answer
they give. `set_attribute` is `MonkeyPatch.setattr` in a test session (undone at its end),
plain `setattr` in a script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SetAttribute = Callable[[Any, str, Any], None]


def list_service_folders_once(set_attribute: SetAttribute = setattr) -> None:
    """moto's dispatcher lists its own package folder (some 180 `isdir` calls) on every request,
    to see whether the Host header names a service: that made our S3 tests a third slower. The
    folder cannot change while the server runs, so it is listed once."""
    from moto import backends

    folders = tuple(backends.list_of_moto_modules())
    set_attribute(backends, "list_of_moto_modules", lambda: folders)


def skip_metadata_dumps_in_memory(set_attribute: SetAttribute = setattr) -> None:
    """The GCS emulator writes the metadata of every object it holds, as indented JSON, after
    each change: quadratic in the objects, 39 % of its time in a lake's test. In memory it
    reads that file back only when it starts, so there the dump is skipped."""
    from gcp_storage_emulator.storage import Storage

    dump = Storage._write_config_to_file

    def dump_unless_in_memory(self: Storage) -> None:
        if not self._use_memory_fs:
            dump(self)

    set_attribute(Storage, "_write_config_to_file", dump_unless_in_memory)
