"""upload-raw: copy committed local partitions to s3:// or gs://, `_SUCCESS` last per partition,
through the same retried storage helpers as generate, then confirm every object and its size.

A messy lake's defect log goes with the tables it describes, and the lake's own files too:
`_lake.json` first (it claims the prefix), `_config.yaml` and `_runs/` once every partition
landed, so the bucket's copy is a lake `verify` can check. A prefix that holds another lake,
or lies inside one, is refused up front.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ecomlake.errors import EcomlakeError, OptionError, StorageError
from ecomlake.lake.check import listing_problem
from ecomlake.lake.fs import (
    LakeLocation,
    check_readable,
    check_target,
    exists,
    join,
    list_entries,
    read_bytes,
    resolve_target,
    write_bytes,
)
from ecomlake.lake.identity import CONFIG_FILE, LAKE_FILE, LakeIdentity, read_identity
from ecomlake.lake.layout import MANIFEST_NAME, SUCCESS_NAME, is_foreign_file
from ecomlake.lake.lock import live_holder
from ecomlake.lake.manifest import PartitionManifest
from ecomlake.lake.runs import RUNS_DIR, RunRecord, read_run_records
from ecomlake.messiness.log import log_table_for
from ecomlake.render.registry import TABLE_NAMES, table_spec

log = logging.getLogger(__name__)

PARALLEL_PARTITIONS = 8
_OWNER = "UploadOptions"  # how errors name the options (the CLI shows its flags instead)


@dataclass(frozen=True)
class UploadOptions:
    source: Path
    target: str  # s3://bucket/prefix or gs://bucket/prefix
    dates: tuple[dt.date, ...] | None  # None: every ingest_dt partition in the source
    tables: tuple[str, ...] = ()
    dry_run: bool = False
    storage_options: dict = field(default_factory=dict)


@dataclass
class UploadResult:
    partitions: list[str] = field(default_factory=list)  # relative partition dirs
    objects: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # partitions without _SUCCESS
    lake_files: list[str] = field(default_factory=list)  # `_lake.json`, `_config.yaml`, `_runs/`


def target_uri(bucket: str, prefix: str, scheme: str | None) -> str:
    """`--bucket` (a name or s3:// / gs:// URI), `--prefix` and `--scheme` -> one target URI."""
    named = "scheme"  # the option the scheme came from
    if "://" in bucket:
        given, _, rest = bucket.partition("://")
        if scheme and scheme != given:
            rule = f"{{scheme}}: {scheme} conflicts with {{bucket}} {bucket}"
            raise OptionError("", rule, "scheme", "bucket")
        scheme, bucket, named = given.lower(), rest.strip("/"), "bucket"
    scheme = scheme or "gs"  # the older tool uploaded to GCS
    if scheme not in ("s3", "gs"):
        rule = f"{{{named}}}: the scheme must be s3 or gs, got {scheme!r}"
        raise OptionError("", rule, named)
    if not bucket or "/" in bucket or not bucket.isprintable():
        raise OptionError("", f"{{bucket}}: expected a bucket name, got {bucket!r}", "bucket")
    if not prefix.isprintable():  # a newline or tab would name another object than meant
        rule = f"{{prefix}}: must not contain control characters, got {prefix!r}"
        raise OptionError("", rule, "prefix")
    if any(part in (".", "..") for part in prefix.strip("/").split("/")):
        rule = f"{{prefix}}: must not contain '.' or '..' segments, got {prefix!r}"
        raise OptionError("", rule, "prefix")
    return (
        f"{scheme}://{bucket}/{prefix.strip('/')}" if prefix.strip("/") else f"{scheme}://{bucket}"
    )


def plan_upload(
    options: UploadOptions, records: list[RunRecord] | None = None
) -> tuple[list[tuple[str, list[Path]]], list[str]]:
    """(partition dir, files with _SUCCESS last) to upload; partitions skipped as uncommitted.
    `records`: the source's run records, when the caller has read them already."""
    if not options.source.is_dir():
        raise OptionError(_OWNER, f"{{source}}: {options.source} is not a directory", "source")
    tables = options.tables or tuple(t for t in TABLE_NAMES if (options.source / t).is_dir())
    for name in tables:
        if name not in TABLE_NAMES:
            rule = f"{{tables}}: unknown table {name!r} (one of {', '.join(TABLE_NAMES)})"
            raise OptionError(_OWNER, rule, "tables")
    if not tables:
        rule = f"{{source}}: {options.source} holds no table folders"
        raise OptionError(_OWNER, rule, "source")
    if records is None:
        records = source_lake(options.source)[1]
    wanted = None if options.dates is None else {d.isoformat() for d in options.dates}
    owned = {
        rel
        for record in records
        for day, partitions in record.committed_on
        if options.dates is not None and day in options.dates
        for rel in partitions
    }
    recorded = any(record.committed_on for record in records)
    plan, skipped = [], []
    for name, key in _folders(options.source, tables):
        for folder in sorted((options.source / name).glob(f"{key}=*")):
            value = folder.name.split("=", 1)[1]
            rel = f"{name}/{folder.name}"
            if not _chosen(rel, value, wanted, owned, recorded):
                continue
            files = sorted(
                p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            )
            if not any(p.name == SUCCESS_NAME for p in files):
                skipped.append(rel)
                continue
            files.sort(key=lambda p: p.name == SUCCESS_NAME)  # _SUCCESS last
            plan.append((rel, files))
    damaged = [(rel, why) for rel, _ in plan if (why := _damage(options.source, rel))]
    if damaged:
        rel, why = damaged[0]
        rule = (
            f"{{source}}: {len(damaged)} committed partition(s) differ from their manifests, "
            f"e.g. {rel} ({why}); nothing was uploaded: `ecomlake verify` and `generate --repair` "
            "the source first"
        )
        raise OptionError(_OWNER, rule, "source")
    return plan, skipped


def _chosen(rel: str, value: str, wanted: set[str] | None, owned: set[str], recorded: bool) -> bool:
    """Whether the dates take a partition: those their runs committed (the first days' include
    the customers who signed up before them, and the catalog) and those dated on them; without
    records that say what each day committed, the catalog always goes (the older rule)."""
    if wanted is None or rel in owned:
        return True
    return value in wanted if _is_date(value) else not recorded


def _folders(source: Path, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(folder, partition key) of each table, then of the defect logs of those tables the
    source has (a day's `_defects` partition serves all its tables)."""
    folders = [(name, table_spec(name).partition_key) for name in tables]
    logs = {log_table_for(table_spec(name)) for name in tables}
    return folders + sorted(log for log in logs if (source / log[0]).is_dir())


def lake_files(source: Path) -> list[Path]:
    """The lake's config and run records, uploaded once the partitions landed."""
    runs = sorted(p for p in (source / RUNS_DIR).glob("*.json") if p.is_file())
    return [p for p in (source / CONFIG_FILE, *runs) if p.is_file()]


def _check_remote_lake(mine: LakeIdentity | None, loc: LakeLocation) -> None:
    """A prefix holding another world's lake, or inside a lake, keeps it: one line before
    anything is uploaded. (A prefix without `_lake.json` may hold an older tool's uploads.)"""
    where = "{bucket}/{prefix}"
    for parent in _parents(loc.root):
        if exists(replace(loc, root=parent), LAKE_FILE):
            rule = (
                f"{where}: {loc.uri} is inside the lake at {loc.display(parent)}: its "
                "partitions would land among that lake's; nothing was uploaded: choose a prefix "
                "outside it"
            )
            raise OptionError(_OWNER, rule, "bucket", "prefix")
    theirs = read_identity(loc)
    if theirs is None or (mine is not None and theirs.same_world(mine)):
        return
    said = (
        f"seed {theirs.seed}, fingerprint {theirs.config_fingerprint[:12]}, "
        f"{theirs.world_start}..{theirs.world_end}"
    )
    if mine is None:
        this = "and the source has no _lake.json to show it is the same world"
    else:
        this = (
            f"this one: seed {mine.seed}, fingerprint {mine.config_fingerprint[:12]}, "
            f"{mine.world_start}..{mine.world_end}"
        )
    rule = (
        f"{where}: {loc.uri} holds another lake ({said}; {this}); nothing was uploaded: choose "
        "another prefix"
    )
    raise OptionError(_OWNER, rule, "bucket", "prefix")


def _parents(root: str) -> list[str]:
    """`bucket/a/b` -> [`bucket/a`, `bucket`]: the prefixes above the target's."""
    parts = root.rstrip("/").split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def source_lake(source: Path) -> tuple[LakeIdentity | None, list[RunRecord]]:
    """The local lake's identity (None for a lake without one, as the older tool wrote them)
    and run records; a damaged `_lake.json` or record is refused, as verify fails them."""
    loc = resolve_target(str(source))
    holder = live_holder(loc)
    if holder is not None:  # its partitions would land without the record that lists them
        rule = (
            f"{{source}}: a run is writing this lake ({holder.describe()}); nothing was "
            "uploaded: upload when it is done"
        )
        raise OptionError(_OWNER, rule, "source")
    try:
        lake = read_identity(loc)
    except EcomlakeError as exc:
        raise OptionError(_OWNER, f"{{source}}: {exc}", "source") from None
    if lake is None:
        return None, []
    unreadable: list[str] = []
    records = read_run_records(loc, lake, unreadable)
    if unreadable:
        rule = (
            f"{{source}}: {unreadable[0]} is unreadable; nothing was uploaded: move it aside "
            "(`ecomlake verify` the source) first"
        )
        raise OptionError(_OWNER, rule, "source")
    return lake, records


def _damage(source: Path, rel: str) -> str | None:
    """Why a committed partition is not what its manifest lists (a file missing or of another
    size, or beside them one a reader would take as data), or None; the checksums are compared
    as the bytes are read for the upload."""
    loc = resolve_target(str(source))
    try:
        manifest = PartitionManifest.from_json(read_bytes(loc, f"{rel}/{MANIFEST_NAME}"))
    except EcomlakeError as exc:
        return f"{MANIFEST_NAME}: {exc}"
    entries = list_entries(loc, rel)
    problem = listing_problem(manifest, rel, entries)  # unlisted data files included
    foreign = [name for name in sorted(entries) if is_foreign_file(name)]
    if problem is None and foreign:  # a hook's notes.txt: readers of the bucket would fail
        problem = f"{foreign[0]} is not data: name it with a leading '_' or move it out"
    return problem


def upload(options: UploadOptions) -> UploadResult:
    """Upload the planned partitions in parallel; each partition's `_SUCCESS` goes last."""
    mine, records = source_lake(options.source)
    plan, skipped = plan_upload(options, records)
    loc = resolve_target(options.target, options.storage_options)
    identity = options.source / LAKE_FILE
    extras = [identity, *lake_files(options.source)] if plan and mine is not None else []
    result = UploadResult(skipped=skipped)
    result.lake_files = [p.relative_to(options.source).as_posix() for p in extras]
    check_readable(loc)  # an endpoint, bucket or credentials that fail: one line, exit 2
    _check_remote_lake(mine, loc)  # a dry run reads it too
    if options.dry_run:
        result.partitions = [rel for rel, _ in plan]
        result.objects = sum(len(files) for _, files in plan) + len(extras)
        result.bytes = sum(p.stat().st_size for p in (*extras, *(f for _, fs in plan for f in fs)))
        return result
    check_target(loc)
    if extras:  # first: the prefix is this lake's from now on (another world is refused)
        write_bytes(loc, LAKE_FILE, identity.read_bytes())
    with ThreadPoolExecutor(max_workers=PARALLEL_PARTITIONS) as pool:
        for rel, count, size in pool.map(lambda item: _upload_partition(loc, *item), plan):
            result.partitions.append(rel)
            result.objects += count
            result.bytes += size
    _confirm(loc, plan)
    for path, rel in zip(extras[1:], result.lake_files[1:], strict=True):  # config, records
        write_bytes(loc, rel, path.read_bytes())
    for path, rel in zip(extras, result.lake_files, strict=True):
        _confirm_object(loc, rel, path)
        result.objects += 1
        result.bytes += path.stat().st_size
    return result


def _upload_partition(loc: LakeLocation, rel: str, files: list[Path]) -> tuple[str, int, int]:
    """Each file, `_SUCCESS` last: a file whose bytes are not the manifest's stops the upload
    before it, so the remote partition stays uncommitted."""
    sums = {
        f.path.rpartition("/")[2]: f.checksum
        for f in PartitionManifest.from_json(files[0].with_name(MANIFEST_NAME).read_bytes()).files
    }
    size = 0
    for path in files:  # data and manifest first, _SUCCESS last (sorted in plan_upload)
        data = path.read_bytes()
        if path.name in sums and hashlib.sha256(data).hexdigest() != sums[path.name]:
            raise StorageError(f"{path}: its bytes differ from its manifest's checksum")
        write_bytes(loc, f"{rel}/{path.name}", data)
        size += len(data)
    log.info("uploaded %s (%d objects)", rel, len(files))
    return rel, len(files), size


def _confirm(loc: LakeLocation, plan: list[tuple[str, list[Path]]]) -> None:
    """Every object landed with its size; a mismatch is an error naming the object."""
    for rel, files in plan:
        for path in files:
            _confirm_object(loc, f"{rel}/{path.name}", path)


def _confirm_object(loc: LakeLocation, rel: str, path: Path) -> None:
    """`rel` landed with `path`'s size; an error naming the object if not."""
    remote = join(loc.root, rel)
    loc.fs.invalidate_cache(remote.rpartition("/")[0])
    try:
        size = loc.fs.info(remote, timeout=loc.timeouts.call_deadline())["size"]
    except FileNotFoundError:
        raise StorageError(f"{loc.display(remote)}: missing after upload") from None
    if size != path.stat().st_size:
        raise StorageError(
            f"{loc.display(remote)}: {size} bytes landed, {path.stat().st_size} expected"
        )


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
