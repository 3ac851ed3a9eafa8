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
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema, assign_fresh_schema_ids
from pyiceberg.table import Table
from pyiceberg.table.name_mapping import create_mapping_from_schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record
from pyiceberg.types import DateType, IcebergType, IntegerType, LongType

from ecomlake.errors import ConfigError, OptionError
from ecomlake.lake import LakeLocation, exists, list_dir
from ecomlake.tables.catalog import (
    CATALOG_FILE,
    CATALOG_NAME,
    catalog_properties,
    default_catalog_uri,
    lake_path,
    lake_relative,
)
from ecomlake.tables.damage import one_line
from ecomlake.tables.detect import lake_tables, table_format
from ecomlake.tables.files import TablePartition, table_schema
from ecomlake.tables.options import DEFAULT_NAMESPACE, OWNER, TableOptions
from ecomlake.tables.store import iceberg_io_properties

NAME_MAPPING = "schema.name-mapping.default"
_FIRST_PARTITION_FIELD = 1000  # Iceberg numbers partition fields from 1000
_EPOCH = dt.date(1970, 1, 1)
_IN_MEMORY = "sqlite:///:memory:"


def open_catalog(loc: LakeLocation, options: TableOptions) -> Catalog:
    """The lake's catalog; a one-line OptionError naming the flag when it cannot open."""
    return _load(options, catalog_properties(loc, options))


def check_catalog(loc: LakeLocation, options: TableOptions) -> None:
    """Open the default catalog with the run's properties before the lake exists, without
    creating its file (SQLite in memory stands in for it), so a `--catalog-option` it cannot
    take (`type=rest`) fails before anything is written, not at the first commit."""
    props = catalog_properties(loc, options)
    if props.get("uri") != default_catalog_uri(loc):
        _load(options, props)
        return
    try:
        _load(options, {**props, "uri": _IN_MEMORY})
    except OptionError as exc:  # name the file the run would use, not the stand-in
        rule = exc.template.replace(_IN_MEMORY, props["uri"])
        raise OptionError(exc.owner, rule, *exc.fields) from None


def _load(options: TableOptions, props: dict[str, str]) -> Catalog:
    try:
        catalog = load_catalog(CATALOG_NAME, **props)
        catalog.list_namespaces()  # the first request: a catalog that cannot answer fails here
    except Exception as exc:  # every catalog kind fails with its own exception types
        where = options.catalog_uri or f"<target>/{CATALOG_FILE} (the default)"
        field = "catalog_options" if options.catalog_options else "catalog_uri"
        rule = f"{{{field}}}: cannot open catalog {where}: {one_line(exc)}"
        raise OptionError(OWNER, rule, field) from None
    return catalog


class IcebergFormat:
    """The lake's Iceberg tables in one catalog namespace."""

    name = "iceberg"

    def __init__(self, loc: LakeLocation, options: TableOptions) -> None:
        """Open the catalog now, so a bad one fails before the run writes anything: one named
        by URI, or the lake's own file when the lake has it; a new lake's default catalog is
        checked in memory and created on the first commit. An existing catalog also gives the
        namespace the lake's tables are in, and refuses tables that are another lake's."""
        self._loc = loc
        self._options = options
        self._tables: dict[str, Table] = {}
        self._entries: dict[str, dict[str, DataFile]] = {}  # table -> lake path -> DataFile
        self._whole: set[str] = set()  # tables known to have their spec and name mapping
        self._opened: Catalog | None = None
        self._namespace = options.namespace
        if options.catalog_uri or (loc.is_local and exists(loc, CATALOG_FILE)):
            self._opened = open_catalog(loc, options)
            self._namespace = self._lake_namespace()
        else:
            check_catalog(loc, options)

    @property
    def _catalog(self) -> Catalog:
        if self._opened is None:
            self._opened = open_catalog(self._loc, self._options)
        return self._opened

    def _uri(self, rel_path: str) -> str:
        return lake_path(self._loc, rel_path)

    def _lake_namespace(self) -> str:
        """The namespace of this lake's tables. A lake table of the given namespace located
        elsewhere is another lake's: refused, since this run would add its files to it. When
        the given namespace holds none of the lake's tables but another does (a lake made with
        `--namespace`), that one is used if none was given (the default), else refused, so a
        second set of tables is never started."""
        given = self._options.namespace
        held = self._locations(given)
        foreign = sorted((t, where) for t, where in held.items() if not self._ours(t, where))
        if foreign and self._options.catalog_uri is None:  # the lake's own catalog.db
            name, where = foreign[0]
            rule = (
                f"{{catalog_uri}}: this lake's {CATALOG_FILE} has its tables elsewhere "
                f"({given}.{name} at {where}): the lake was copied or moved, and Iceberg keeps "
                f"absolute paths; delete its {CATALOG_FILE}, then make its tables again here "
                "with the generate command and --overwrite"
            )
            raise OptionError(OWNER, rule, "catalog_uri")
        if foreign:
            name, where = foreign[0]
            rule = (
                f"{{namespace}} {given}: table {given}.{name} of this catalog is at {where}, not "
                f"in this lake ({self._uri(name)}); give another {{namespace}} or catalog"
            )
            raise OptionError(OWNER, rule, "namespace")
        if held or not any(table_format(self._loc, t) == self.name for t in lake_tables()):
            return given  # the lake's tables, or a lake that has none yet
        for ident in self._catalog.list_namespaces():
            found = ".".join(ident)
            others = self._locations(found) if found != given else {}
            if not others or not all(self._ours(t, where) for t, where in others.items()):
                continue
            if given == DEFAULT_NAMESPACE:
                return found
            rule = (
                f"{{namespace}} {given}: this lake's tables are in namespace {found} of the "
                f"catalog; give {{namespace}} {found}"
            )
            raise OptionError(OWNER, rule, "namespace")
        return given

    def _locations(self, namespace: str) -> dict[str, str]:
        """{table: its location} of the lake tables the namespace holds; a table whose
        metadata cannot be read is left out (its commit fails naming the damaged file)."""
        try:
            names = {ident[-1] for ident in self._catalog.list_tables(namespace)}
        except NoSuchNamespaceError:
            return {}
        found = {}
        for name in (t for t in lake_tables() if t in names):
            try:
                found[name] = self._load_table(namespace, name).location()
            except Exception:  # damaged metadata: reported where the table is read
                continue
        return found

    def _ours(self, table: str, location: str) -> bool:
        """Whether a table location is `<this lake>/<table>` (as a path or a file:// URI)."""
        return lake_relative(self._loc, location.rstrip("/")) == table

    def _load_table(self, namespace: str, table: str) -> Table:
        return self._catalog.load_table((namespace, table))

    def _open(self, table: str, key: str | None = None) -> Table | None:
        """The table, or None; with `key` (a commit), completed if it lacks its partition spec
        or name mapping (an older run's table, created in two commits and killed between)."""
        if table not in self._tables:
            try:
                self._tables[table] = self._load_table(self._namespace, table)
            except NoSuchTableError:
                return None
        if key is not None and table not in self._whole:  # once a table, per process
            self._tables[table] = _complete(self._tables[table], key)
            self._whole.add(table)
        return self._tables[table]

    def files(self, table: str) -> dict[str, int]:
        found = self._open(table)
        if found is None:
            return {}
        entries = {
            lake_relative(self._loc, task.file.file_path): task.file
            for task in found.scan().plan_files()
        }
        self._entries[table] = entries
        return {path: f.file_size_in_bytes for path, f in entries.items()}

    def commit(
        self,
        table: str,
        added: list[TablePartition],
        removed: list[str],
        summary: dict[str, str],
    ) -> None:
        target = self._open(table, added[0].key) or self._create(table, added[0])
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
                    files.delete_data_file(entries.pop(path))
                for data_file in new:
                    files.append_data_file(data_file)
        entries.update((lake_relative(self._loc, d.file_path), d) for d in new)

    def _create(self, table: str, first: TablePartition) -> Table:
        """A new table: the files' schema, identity partition on the key and the name mapping
        (readers find the files' columns by it), in one catalog commit: a table created in two
        was left unreadable, and a re-run appended to it, by a kill between them."""
        self._catalog.create_namespace_if_not_exists(self._namespace)
        schema = assign_fresh_schema_ids(
            Catalog._convert_schema_if_needed(table_schema(self._loc, first))
        )
        key = schema.find_field(first.key)
        spec = PartitionSpec(
            PartitionField(key.field_id, _FIRST_PARTITION_FIELD, IdentityTransform(), first.key)
        )
        created = self._catalog.create_table(
            (self._namespace, table),
            schema=schema,
            location=self._uri(table),
            partition_spec=spec,
            properties={NAME_MAPPING: _name_mapping(schema)},
        )
        self._tables[table] = _complete(created, first.key)  # in case the ids were reassigned
        self._whole.add(table)
        return self._tables[table]

    def drop(self, tables: list[str]) -> None:
        for table in tables:
            self._tables.pop(table, None)
            self._entries.pop(table, None)
            self._whole.discard(table)
            try:
                self._catalog.drop_table((self._namespace, table))
            except NoSuchTableError:
                continue


def _name_mapping(schema: Schema) -> str:
    return create_mapping_from_schema(schema).model_dump_json()


def _complete(table: Table, key: str) -> Table:
    """`table` with the identity partition on `key` and the name mapping of its schema."""
    partitioned = any(f.name == key for f in table.spec().fields)
    mapping = _name_mapping(table.schema())
    if partitioned and table.properties.get(NAME_MAPPING) == mapping:
        return table
    with table.transaction() as tx:
        if not partitioned:
            with tx.update_spec() as spec:
                spec.add_identity(key)
        tx.set_properties({NAME_MAPPING: mapping})
    return table


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
    if not names:
        raise FileNotFoundError(f"{table}/metadata/ holds no *.metadata.json")
    static = StaticTable.from_metadata(
        lake_path(loc, f"{table}/metadata/{names[-1]}"), properties=iceberg_io_properties(loc)
    )
    tasks = static.scan().plan_files()
    return {lake_relative(loc, t.file.file_path): t.file.file_size_in_bytes for t in tasks}
