"""`_MANIFEST.json`: one per partition, sorted-key JSON, byte-identical for pinned lineage.

Keys follow the older tool's manifest, plus seed and config_fingerprint (for resume). A file's
checksum is the sha256 hex of the file's bytes -- a deliberate change from the older tool's hash
of a JSON rendering of the rows: a reader can verify a file without decoding it. Each file's
`size` (bytes) lets a re-run check a partition from one listing; `writer` records the Parquet
options and source prefix, so `--repair` can write the same bytes again. Manifests without
them (older ones) still load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ecomlake.errors import StorageError

SCHEMA_VERSION = "0.1.0"

_FILE_KEYS = ("checksum", "path", "rows")
_REQUIRED_KEYS = (
    "batch_id",
    "created_at",
    "files",
    "max_event_dt",
    "min_event_dt",
    "partition",
    "schema_version",
    "table",
    "total_rows",
)


@dataclass(frozen=True)
class ManifestFile:
    """One part file: `path` relative to the lake root, its row count, sha256 and size of its
    bytes (None in manifests written before sizes were recorded)."""

    path: str
    rows: int
    checksum: str
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"checksum": self.checksum, "path": self.path, "rows": self.rows}
        if self.size is not None:
            body["size"] = self.size
        return body


@dataclass(frozen=True)
class PartitionManifest:
    """What a committed partition holds; `checksums` is derived from `files`."""

    batch_id: str
    created_at: str
    files: tuple[ManifestFile, ...]
    generator_version: str | None
    max_event_dt: str | None
    min_event_dt: str | None
    partition: str
    schema_version: str
    table: str
    total_rows: int
    seed: int | None
    config_fingerprint: str | None
    messiness: dict[str, Any] | None = None  # messy runs: level, defect counts, clean digest
    writer: dict[str, Any] | None = None  # Parquet options and source prefix (lake/sink.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(self.files))
        if sum(f.rows for f in self.files) != self.total_rows:
            raise ValueError(
                f"{self.table}/{self.partition}: total_rows {self.total_rows} "
                "differs from the sum of the files' rows"
            )

    @property
    def holds_defects(self) -> bool:
        """Whether a messy run counted defects in the partition (so its defect log exists)."""
        defects = (self.messiness or {}).get("defects") or {}
        return isinstance(defects, dict) and any(defects.values())

    @property
    def checksums(self) -> list[str]:
        """Per-file checksums in file order (kept as a top-level key for the older readers)."""
        return [f.checksum for f in self.files]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every manifest key, `checksums` included (`messiness` when set)."""
        body = {
            "batch_id": self.batch_id,
            "checksums": self.checksums,
            "config_fingerprint": self.config_fingerprint,
            "created_at": self.created_at,
            "files": [f.to_dict() for f in self.files],
            "generator_version": self.generator_version,
            "max_event_dt": self.max_event_dt,
            "min_event_dt": self.min_event_dt,
            "partition": self.partition,
            "schema_version": self.schema_version,
            "seed": self.seed,
            "table": self.table,
            "total_rows": self.total_rows,
        }
        if self.messiness is not None:
            body["messiness"] = self.messiness
        if self.writer is not None:
            body["writer"] = self.writer
        return body

    def to_json(self) -> str:
        """`json.dumps(indent=2, sort_keys=True)` plus a final newline: stable bytes."""
        return self._json_text

    @cached_property
    def _json_text(self) -> str:
        # Built once: the commit writes it and the day's result carries it back to the driver.
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> PartitionManifest:
        """Parse a manifest; older-tool manifests (no seed/fingerprint) read with those as None."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StorageError(f"manifest: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise StorageError("manifest: expected a JSON object")
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise StorageError(f"manifest: missing key(s) {missing}")
        files = tuple(_file_from_dict(f) for f in data["files"])
        stored = data.get("checksums")
        if stored is not None and stored != [f.checksum for f in files]:
            raise StorageError("manifest: 'checksums' does not match the files' checksums")
        try:
            return cls(
                batch_id=data["batch_id"],
                created_at=data["created_at"],
                files=files,
                generator_version=data.get("generator_version"),
                max_event_dt=data["max_event_dt"],
                min_event_dt=data["min_event_dt"],
                partition=data["partition"],
                schema_version=data["schema_version"],
                table=data["table"],
                total_rows=data["total_rows"],
                seed=data.get("seed"),
                config_fingerprint=data.get("config_fingerprint"),
                messiness=data.get("messiness"),
                writer=data.get("writer"),
            )
        except ValueError as exc:
            raise StorageError(f"manifest: {exc}") from None


def _file_from_dict(entry: Any) -> ManifestFile:
    """One `files` entry; raises StorageError naming what is wrong."""
    if not isinstance(entry, dict) or any(k not in entry for k in _FILE_KEYS):
        raise StorageError(f"manifest: each file needs keys {list(_FILE_KEYS)}, got {entry!r}")
    return ManifestFile(
        path=entry["path"], rows=entry["rows"], checksum=entry["checksum"], size=entry.get("size")
    )
