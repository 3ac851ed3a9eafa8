"""The storage servers' speed tweaks take effect and change no answer (tests/server_tweaks.py)."""

from __future__ import annotations

import os

import pytest
from server_tweaks import list_service_folders_once, skip_metadata_dumps_in_memory


def test_moto_lists_its_service_folders_once_with_the_same_answer(monkeypatch):
    from moto import backends

    before = tuple(backends.list_of_moto_modules())
    assert "s3" in before
    assert list_service_folders_once(monkeypatch.setattr)

    def no_listing(path):
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert tuple(backends.list_of_moto_modules()) == before


@pytest.mark.parametrize("in_memory", [True, False])
def test_gcs_emulator_dumps_metadata_only_on_disk(monkeypatch, tmp_path, in_memory):
    """In memory nothing reads the dump back, so it is skipped; on disk it is what a restarted
    emulator starts from, so it is still written, and the bucket is there after a restart."""
    from gcp_storage_emulator.storage import Storage

    assert skip_metadata_dumps_in_memory(monkeypatch.setattr)
    storage = Storage(use_memory_fs=in_memory, data_dir=str(tmp_path))
    storage.create_bucket("b", {"name": "b"})
    assert storage.get_bucket("b") == {"name": "b"}
    assert storage._store.exists_file(".meta") is not in_memory
    if not in_memory:
        assert Storage(data_dir=str(tmp_path)).get_bucket("b") == {"name": "b"}
