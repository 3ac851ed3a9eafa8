"""Apache Iceberg: tables `<namespace>.<table>` located at `<target>/<table>/`, whose data files
are the Hive partitions' Parquet files, appended as DataFile entries (no data rewritten).

The files carry no Iceberg field ids, so each table sets a name mapping; the partition is an
identity transform of `<key>`, which Iceberg readers fill in from the DataFile's partition tuple
when the file itself lacks the column (a day's `ingest_dt` lives only in the path).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.table.name_mapping import create_mapping_from_schema
from pyiceberg.typedef import Record
from pyiceberg.types import DateType, IcebergType, IntegerType, LongType

from ecomlake.errors import ConfigError, OptionError
from ecomlake.lake import LakeLocation, list_dir
from ecomlake.tables.catalog import CATALOG_NAME, catalog_properties
from ecomlake.tables.files import TablePartition, table_schema
from ecomlake.tables.options import OWNER, TableOptions
from ecomlake.tables.store import iceberg_io_properties

NAME_MAPPING = "schema.name-mapping.default"
_EPOCH = dt.date(1970, 1, 1)


def open_catalog(loc: LakeLocation, options: TableOptions) -> Catalog:
    """The lake's catalog, its namespace created; a one-line ConfigError when it cannot open."""
    props = catalog_properties(loc, options)
    try:
        catalog = load_catalog(CATALOG_NAME, **props)
        catalog.create_namespace_if_not_exists(options.namespace)
    except Exception as exc:  # every catalog kind fails with its own exception types
        where = options.catalog_uri or props.get("uri", "")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        rule = f"{{catalog_uri}}: cannot open catalog {where}: {first}"
        raise OptionError(OWNER, rule, "catalog_uri") from None
    return catalog


class IcebergFormat:
    """The lake's Iceberg tables in one catalog namespace."""

    name = "iceberg"

    def __init__(self, loc: LakeLocation, options: TableOptions) -> None:
        self._loc = loc
        self._options = options
        self._namespace = options.namespace
        catalog_properties(loc, options)  # an unusable catalog URI fails now
        # A catalog named by URI must open now; the default one is a file in a lake that
        # may not exist yet, so it opens on the first commit.
        self._opened = open_catalog(loc, options) if options.catalog_uri else None
        self._tables: dict[str, Table] = {}
        self._entries: dict[str, dict[str, DataFile]] = {}  # table -> uri -> its DataFile

    @property
    def _catalog(self) -> Catalog:
        if self._opened is None:
            self._opened = open_catalog(self._loc, self._options)
        return self._opened

    def _uri(self, rel_path: str) -> str:
        return f"{self._root_uri}/{rel_path}"

    @property
    def _root_uri(self) -> str:
        root = self._loc.root.rstrip("/")
        return f"file://{root}" if self._loc.is_local else self._loc.display(root)

    def _open(self, table: str) -> Table | None:
        if table not in self._tables:
            try:
                self._tables[table] = self._catalog.load_table((self._namespace, table))
            except NoSuchTableError:
                return None
        return self._tables[table]

    def files(self, table: str) -> dict[str, int]:
        found = self._open(table)
        if found is None:
            return {}
        entries = {task.file.file_path: task.file for task in found.scan().plan_files()}
        self._entries[table] = entries
        prefix = f"{self._root_uri}/"
        return {uri.removeprefix(prefix): f.file_size_in_bytes for uri, f in entries.items()}

    def commit(
        self,
        table: str,
        added: list[TablePartition],
        removed: list[str],
        summary: dict[str, str],
    ) -> None:
        target = self._open(table) or self._create(table, added[0])
        field_type = target.schema().find_field(added[0].key).field_type
        spec_id = target.spec().spec_id
        new = [
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=self._uri(f.path),
                file_format=FileFormat.PARQUET,
                partition=Record(_partition_value(part.value, field_type)),
                file_size_in_bytes=f.size,
                record_count=f.rows,
                spec_id=spec_id,
            )
            for part in added
            for f in part.files
        ]
        entries = self._entries.setdefault(table, {})
        props = {f"ecomlake.{k}": v for k, v in summary.items()}
        with target.transaction() as tx:
            update = tx.update_snapshot(snapshot_properties=props)
            producer = update.overwrite() if removed else update.fast_append()
            with producer as files:
                for path in removed:
                    files.delete_data_file(entries.pop(self._uri(path)))
                for data_file in new:
                    files.append_data_file(data_file)
        entries.update((d.file_path, d) for d in new)

    def _create(self, table: str, first: TablePartition) -> Table:
        """A new table: the files' schema, identity partition on the key, name mapping."""
        created = self._catalog.create_table(
            (self._namespace, table),
            schema=table_schema(self._loc, first),
            location=self._uri(table),
        )
        with created.transaction() as tx:
            with tx.update_spec() as spec:
                spec.add_identity(first.key)
            mapping = create_mapping_from_schema(created.schema()).model_dump_json()
            tx.set_properties({NAME_MAPPING: mapping})
        self._tables[table] = created
        return created

    def drop(self, tables: list[str]) -> None:
        for table in tables:
            self._tables.pop(table, None)
            self._entries.pop(table, None)
            try:
                self._catalog.drop_table((self._namespace, table))
            except NoSuchTableError:
                continue


def _partition_value(text: str, field_type: IcebergType) -> Any:
    """A Hive path value as Iceberg stores it in the partition tuple (a date: days since 1970)."""
    if isinstance(field_type, DateType):
        return (dt.date.fromisoformat(text) - _EPOCH).days
    if isinstance(field_type, IntegerType | LongType):
        return int(text)
    if str(field_type) != "string":
        raise ConfigError(f"partition value {text!r}: unsupported Iceberg type {field_type}")
    return text


def latest_metadata_files(loc: LakeLocation, table: str) -> dict[str, int]:
    """{path: size} of the table as its newest metadata file has it (no catalog needed)."""
    from pyiceberg.table import StaticTable

    names = sorted(n for n in list_dir(loc, f"{table}/metadata") if n.endswith(".metadata.json"))
    root = loc.root.rstrip("/")
    root_uri = f"file://{root}" if loc.is_local else loc.display(root)
    static = StaticTable.from_metadata(
        f"{root_uri}/{table}/metadata/{names[-1]}", properties=iceberg_io_properties(loc)
    )
    tasks = static.scan().plan_files()
    return {t.file.file_path.removeprefix(f"{root_uri}/"): t.file.file_size_in_bytes for t in tasks}
