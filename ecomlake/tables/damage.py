"""Which file of a table's metadata is damaged. pyiceberg's validation errors and delta-rs's
JSON errors name no file, so a table that cannot be read is diagnosed from its own folder and
reported as `<table>: <file> <what is wrong>`, one line that says what to look at."""

from __future__ import annotations

import json
import re

from ecomlake.errors import StorageError
from ecomlake.lake import LakeLocation, exists, list_dir, read_bytes
from ecomlake.tables.detect import DELTA_LOG, ICEBERG_METADATA

AVRO_MAGIC = b"Obj\x01"


class TableDamage(StorageError):
    """A table's metadata cannot be read; the message names the table and the file."""


def metadata_folder(fmt: str, table: str) -> str:
    """The folder holding the table's metadata (Delta's log, Iceberg's metadata)."""
    return f"{table}/{DELTA_LOG if fmt == 'delta' else ICEBERG_METADATA}"


def table_damage(loc: LakeLocation, fmt: str, table: str, exc: BaseException) -> TableDamage:
    """The damage behind `exc`, raised reading `table`: the file the error names (missing or
    unreadable), else the first file of the table's metadata that does not parse, else the
    metadata folder with the error's first line."""
    if isinstance(exc, TableDamage):
        return exc
    named = _named_file(loc, exc)
    if named is not None:
        if not exists(loc, named):
            return TableDamage(f"{table}: {named} is missing")
        return TableDamage(f"{table}: {named} cannot be read ({one_line(exc)})")
    folder = metadata_folder(fmt, table)
    try:
        found = _delta_damage(loc, folder) if fmt == "delta" else _iceberg_damage(loc, folder)
    except StorageError:  # the folder itself cannot be listed or read
        found = None
    if found is not None:
        return TableDamage(f"{table}: {found}")
    return TableDamage(f"{table}: {folder}/ cannot be read ({one_line(exc)})")


def _named_file(loc: LakeLocation, exc: BaseException) -> str | None:
    """The lake path (relative to its root) an error or one of its causes names, if any."""
    pattern = re.compile(re.escape(loc.root.rstrip("/")) + r"/([^'\"\s]+)")
    seen: BaseException | None = exc
    while seen is not None:
        match = pattern.search(str(seen))
        if match:
            return match.group(1).rstrip(".,;:)")
        seen = seen.__cause__ or seen.__context__
    return None


def _iceberg_damage(loc: LakeLocation, folder: str) -> str | None:
    """The newest metadata file when it is not JSON, else the first manifest (list) that is
    not Avro: a reader reads the newest metadata file and the Avro files it leads to."""
    names = list_dir(loc, folder)
    newest = sorted(n for n in names if n.endswith(".metadata.json"))[-1:]
    for name in newest:
        if _json_problem(read_bytes(loc, f"{folder}/{name}")):
            return f"{folder}/{name} is not valid table metadata (not JSON)"
    for name in (n for n in names if n.endswith(".avro")):
        if not read_bytes(loc, f"{folder}/{name}").startswith(AVRO_MAGIC):
            return f"{folder}/{name} is not an Avro file"
    if not newest:
        return f"{folder}/ holds no *.metadata.json"
    return None


def _delta_damage(loc: LakeLocation, folder: str) -> str | None:
    """The first commit file of the log that is not JSON lines, or the first version missing
    from the sequence a reader replays."""
    names = list_dir(loc, folder)
    versions = sorted(n for n in names if re.fullmatch(r"\d{20}\.json", n))
    for name in versions:
        if _json_problem(read_bytes(loc, f"{folder}/{name}"), lines=True):
            return f"{folder}/{name} is not a valid Delta commit (not JSON)"
    numbers = [int(n.split(".")[0]) for n in versions]
    start = numbers[0] if numbers and any(".checkpoint." in n for n in names) else 0
    for expected, number in enumerate(numbers, start):
        if number != expected:
            return f"{folder}/{expected:020d}.json is missing"
    if not versions:
        return f"{folder}/ holds no commit"
    return None


def _json_problem(data: bytes, *, lines: bool = False) -> bool:
    """True when `data` is not JSON (one document, or one per non-empty line)."""
    try:
        docs = [ln for ln in data.splitlines() if ln.strip()] if lines else [data]
        for doc in docs:
            json.loads(doc)
    except ValueError:
        return True
    return not docs


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CAUSE = "\u21b3"  # delta-rs puts each cause of an error on its own line after this arrow


def one_line(exc: Exception) -> str:
    """The error on one line: its first line, and the causes delta-rs lists below it (its
    first line alone says only "Generic GCS error")."""
    lines = [_ANSI.sub("", line).strip() for line in str(exc).strip().splitlines()]
    if not lines or not lines[0]:
        return type(exc).__name__
    causes = [line.removeprefix(_CAUSE).strip() for line in lines[1:] if line.startswith(_CAUSE)]
    return ": ".join([lines[0], *causes])
