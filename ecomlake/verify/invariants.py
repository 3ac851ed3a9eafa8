"""Check a lake's data invariants with DuckDB: one `check_<family>(con)` per invariant family.

Each table is copied once from its Parquet files into DuckDB (see `workspace`); the partition is
parsed from the file path into `_part_key`/`_part_value`, beside the files' own columns.
Config-derived facts (fee rates, agents, channel rules, window) live in `cfg_*` tables.
"""

from __future__ import annotations

import glob
import inspect
import os
import re
import shutil
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.lake.fs import LakeLocation, join, read_bytes, resolve_target
from ecomlake.lake.retry import retry_call
from ecomlake.lineage import INGESTION_TS_TYPE, LINEAGE_COLUMNS
from ecomlake.render.registry import TABLES, TableSpec
from ecomlake.verify import sql_checks as q
from ecomlake.verify.workspace import DEFAULT_MEMORY_LIMIT, open_database, work_folder

if TYPE_CHECKING:
    import duckdb

REQUIRED_TABLES = ("customers", "product_catalog", "shopping_carts")
MAX_EXAMPLES = 3
_DOWNLOADS = 8  # remote files copied at once: object stores answer each GET in ~10-50 ms
# `<key>=<value>/<file>` at the end of a path, either slash.
_PARTITION_RE = r"([^/\\]+)=([^/\\]*)[/\\][^/\\]+$"


@dataclass(frozen=True)
class Violation:
    """A broken rule: `check` is `<family>.<rule>`, `count` the rows breaking it."""

    check: str
    detail: str
    count: int

    @classmethod
    def of(cls, check: str, rule: str, count: int, where: list[str], unit: str) -> Violation:
        """`count` `unit` break `rule`, with the first few of `where` as examples."""
        shown = ", ".join(where[:MAX_EXAMPLES])
        return cls(check, f"{count} {unit} break '{rule}'; e.g. {shown}", count)


def check_invariants(
    root: str,
    config: EcomConfig | None = None,
    storage_options: dict | None = None,
    outside: pa.Table | None = None,
    *,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    temp_parent: str | None = None,
    required: Collection[str] = REQUIRED_TABLES,
) -> list[Violation]:
    """Every invariant family over the lake at `root` (local, s3:// or gs://); [] means clean.
    `required`: the tables that must have files (the plan's say, when there is one).

    With `config`, rules that need it also run (fee rates, agent ids, channel rules, window).
    With `outside` (verify/expected.py), references into its id ranges are not breaks but
    `outside.*` findings: rows the plan dates on days the lake does not hold.
    The tables are copied, only the columns the rules read, into an on-disk DuckDB in a temp
    folder under `temp_parent` that spills past `memory_limit` (see `workspace`).
    """
    loc = resolve_target(root, storage_options)
    with work_folder(temp_parent) as folder:
        con = open_database(folder, memory_limit)
        try:
            load_lake(con, loc, folder, "TABLE", rule_columns())
            if config is not None:
                _load_config_tables(con, config)
            if outside is not None:
                con.register("_outside", outside)
                con.execute(f"CREATE TABLE {q.OUTSIDE_TABLE} AS SELECT * FROM _outside")
            violations = check_tables(con, required)
            for check in CHECKS:
                violations.extend(check(con))
            return violations
        finally:
            con.close()


def connect(
    root: str, config: EcomConfig | None = None, *, storage_options: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every lake table and column (and `cfg_*` tables from `config`),
    to look at a lake by hand: views over a local lake's files; a remote lake is copied in."""
    import duckdb  # a dev extra: importing ecomlake.verify (manifests) must not need it

    loc = resolve_target(root, storage_options)
    con = duckdb.connect()
    if loc.is_local:
        load_lake(con, loc, "", "VIEW")
    else:
        with work_folder() as folder:
            load_lake(con, loc, folder, "TABLE")
    if config is not None:
        _load_config_tables(con, config)
    return con


def load_lake(
    con: duckdb.DuckDBPyConnection,
    loc: LakeLocation,
    folder: str,
    kind: str,
    columns: frozenset[str] | None = None,
) -> None:
    """One `kind` (TABLE or VIEW) per lake table with `columns` (None: all) and the `_file`,
    `_part_key`, `_part_value` columns parsed from each file's path; missing tables recorded.

    A remote lake's files are copied one table at a time into `folder`, each file streamed
    through `read_bytes` (retried like every storage call), and read there as local files.
    """
    import duckdb

    con.execute("CREATE TABLE _missing_tables (name VARCHAR)")
    for spec in TABLES:
        if loc.is_local:
            found = _load_table(con, spec, loc.root, loc.root, kind, columns)
        else:
            staged = os.path.join(folder, "stage")
            try:
                _stage_table(loc, spec.name, staged)
                found = _load_table(con, spec, staged, loc.root, kind, columns)
            except duckdb.Error as exc:  # name the lake's file, not the copy about to go
                raise type(exc)(str(exc).replace(staged, loc.display(loc.root))) from None
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        if not found:
            _register_missing(con, spec, kind)


def _register_missing(con: duckdb.DuckDBPyConnection, spec: TableSpec, kind: str) -> None:
    """An empty stand-in for a table without files, recorded in `_missing_tables`."""
    con.register(f"_empty_{spec.name}", _empty_table(spec.schema))
    con.execute(f"CREATE {kind} {spec.name} AS SELECT * FROM _empty_{spec.name}")
    con.execute("INSERT INTO _missing_tables VALUES (?)", [spec.name])


def _load_table(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files_root: str,
    lake_root: str,
    kind: str,
    columns: frozenset[str] | None,
) -> bool:
    """The table from `<files_root>/<table>/*/*.parquet`, `_file` named under `lake_root`;
    False when it has no files."""
    pattern = _sql_text(f"{glob.escape(files_root)}/{spec.name}/*/*.parquet")
    if not con.execute(f"SELECT count(*) FROM glob({pattern})").fetchall()[0][0]:
        return False
    source = f"read_parquet({pattern}, hive_partitioning = false, union_by_name = true"
    found = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source})").fetchall()]
    kept = [c for c in found if columns is None or c in columns]
    path = f"{_sql_text(lake_root)} || substr(filename, {len(files_root) + 1})"
    con.execute(
        f"CREATE {kind} {spec.name} AS SELECT "
        + "".join(f"{_sql_name(c)}, " for c in kept)
        + f"{path} AS _file, "
        f"regexp_extract(filename, '{_PARTITION_RE}', 1) AS _part_key, "
        f"regexp_extract(filename, '{_PARTITION_RE}', 2) AS _part_value "
        f"FROM {source}, filename = true)"
    )
    return True


def _stage_table(loc: LakeLocation, table: str, staged: str) -> None:
    """Copy a remote table's Parquet files to `<staged>/<table>/<partition>/<file>`, a few
    downloads at a time, each written as it arrives: at most one file per download in memory."""
    pattern = join(glob.escape(loc.root), f"{table}/*/*.parquet")

    def listing() -> list[str]:
        loc.fs.invalidate_cache(join(loc.root, table))
        return sorted(loc.fs.glob(pattern, timeout=loc.timeouts.read_deadline()))  # many pages

    paths = retry_call(listing, action="list", target=loc.display(pattern), policy=loc.retry)
    prefix = len(loc.root.rstrip("/")) + 1

    def copy(path: str) -> None:
        rel = path[prefix:]
        local = os.path.join(staged, rel)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        with open(local, "wb") as handle:
            handle.write(read_bytes(loc, rel))

    with ThreadPoolExecutor(_DOWNLOADS) as pool:
        for _ in pool.map(copy, paths):
            pass


def rule_columns() -> frozenset[str]:
    """Every column name any rule can read: the words of every rule's SQL (each `*_rules`
    builder of `sql_checks`, optional rules on), so no rule finds a column left out."""
    words: set[str] = set()
    for name, build in vars(q).items():
        if name.endswith("_rules") and callable(build):
            flags = [True] * len(inspect.signature(build).parameters)
            for built in build(*flags):
                words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", built.sql))
    return frozenset(words)


def check_tables(
    con: duckdb.DuckDBPyConnection, required: Collection[str] = REQUIRED_TABLES
) -> list[Violation]:
    """The tables every lake has (customers, product_catalog, shopping_carts) have files;
    a world whose days have no carts (`generate: 0`, a quiet first day) has no carts table."""
    missing = [r[0] for r in con.execute("SELECT name FROM _missing_tables ORDER BY 1").fetchall()]
    required = [name for name in missing if name in required]
    if not required:
        return []
    detail = f"{len(required)} required table(s) have no Parquet files: {', '.join(required)}"
    return [Violation("tables.missing", detail, len(required))]


def check_pk(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Primary keys unique and not null (order_items on (order_id, product_id))."""
    return run_rules(con, "pk", q.pk_rules())


def check_fk(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Every foreign key resolves, guests included."""
    return run_rules(con, "fk", q.fk_rules(_has(con, q.OUTSIDE_TABLE)))


def check_carts(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Cart status, totals, updated_at and item timestamps."""
    return run_rules(con, "carts", q.cart_rules())


def check_funnel(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """One order per converted cart and no order without one."""
    return run_rules(con, "funnel", q.funnel_rules())


def check_order_financials(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Gross, discount, net, total_items, costs (and fee with a config)."""
    return run_rules(con, "order_financials", q.order_financial_rules(_has(con, "cfg_fee_rates")))


def check_order_items(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Order lines: catalog prices, quantity, discount bounds."""
    return run_rules(con, "order_items", q.order_item_rules())


def check_returns(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Return headers: refund = Σ lines, has lines, after the order, order's fields."""
    return run_rules(con, "returns", q.return_rules(_has(con, "cfg_window")))


def check_return_items(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Return lines: an ordered line, once, quantity and refund bounded."""
    return run_rules(con, "return_items", q.return_item_rules(_has(con, q.OUTSIDE_TABLE)))


def check_agents(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Phone ⇒ CSR agent id, other channels ⇒ ONLINE; returns keep the order's."""
    return run_rules(con, "agents", q.agent_rules(_has(con, "cfg_agents")))


def check_channel_rules(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Only with a config: without one there is nothing to compare against."""
    if not _has(con, "cfg_allowed_payment"):
        return []
    return run_rules(con, "channel_rules", q.channel_rules())


def check_dates_after_signup(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """No cart or order dated before the customer's signup_date."""
    return run_rules(con, "dates_after_signup", q.signup_rules())


def check_partition_dates(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """Rows sit in the partition their own date/category (or parent) names."""
    return run_rules(con, "partition_dates", q.partition_rules())


OUTSIDE_FAMILY = "outside"  # findings, not failures: verify/report.py keeps them apart
LEFT_OUT_FAMILY = "left_out"  # rules not run: they need a column the lake's config leaves out
# DuckDB's two ways of saying a rule names a column its table does not have.
_NO_SUCH_COLUMN = re.compile(r'column named "([^"]+)"|Referenced column "([^"]+)" not found')


def check_outside_lake(con: duckdb.DuckDBPyConnection) -> list[Violation]:
    """References to rows the plan dates outside the lake's days: counted, never failures."""
    if not _has(con, q.OUTSIDE_TABLE):
        return []
    found = []
    for rule in q.outside_rules():
        sql = f"WITH hits AS ({rule.sql}) SELECT count(*), min(first_day), max(last_day) FROM hits"
        ((count, first, last),) = con.execute(sql).fetchall()
        if count:
            span = f"{first}..{last}" if first != last else str(first)
            detail = f"{count} {rule.description} dated {span}, days this lake does not hold"
            found.append(Violation(f"{OUTSIDE_FAMILY}.{rule.name}", detail, count))
    return found


CHECKS: tuple[Callable[[duckdb.DuckDBPyConnection], list[Violation]], ...] = (
    check_pk,
    check_fk,
    check_carts,
    check_funnel,
    check_order_financials,
    check_order_items,
    check_returns,
    check_return_items,
    check_agents,
    check_channel_rules,
    check_dates_after_signup,
    check_partition_dates,
    check_outside_lake,
)


def run_rules(con: duckdb.DuckDBPyConnection, family: str, rules: list[q.Rule]) -> list[Violation]:
    """Run each rule; one Violation per rule with offending rows (a failing query is one too)."""
    import duckdb

    violations = []
    for rule in rules:
        check = f"{family}.{rule.name}"
        sql = (
            f"WITH hits AS ({rule.sql}) SELECT (SELECT count(*) FROM hits), "
            f"(SELECT list(key) FROM (SELECT DISTINCT key FROM hits ORDER BY key "
            f"LIMIT {MAX_EXAMPLES}))"
        )
        try:
            ((count, examples),) = con.execute(sql).fetchall()
        except duckdb.OutOfMemoryException:
            raise  # the memory limit's fault, not the lake's: verify_lake says so
        except duckdb.Error as exc:
            first_line = str(exc).splitlines()[0]
            unbound = isinstance(exc, duckdb.BinderException)
            left_out = left_out_column(con, first_line) if unbound else ""
            if left_out:
                detail = f"needs {left_out}, which the lake's config leaves out (tables[].columns)"
                violations.append(Violation(f"{LEFT_OUT_FAMILY}.{check}", detail, 0))
            else:
                violations.append(Violation(check, f"could not run: {first_line}", 1))
            continue
        if count:
            shown = ", ".join(str(e) for e in examples or [])
            detail = f"{count} row(s) break '{rule.description}'; e.g. {shown}"
            violations.append(Violation(check, detail, count))
    return violations


def left_out_column(con: duckdb.DuckDBPyConnection, message: str) -> str:
    """`table.column` when a rule could not bind a data-model column that the lake's files do
    not hold (a config may leave any column but a key out of its tables); "" otherwise, so a
    rule that names a column no table has still fails."""
    found = _NO_SUCH_COLUMN.search(message)
    if found is None:
        return ""
    name = found.group(1) or found.group(2)
    held = set(con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall())
    lacking = [
        spec.name
        for spec in TABLES
        if name in spec.schema.names and _has(con, spec.name) and (spec.name, name) not in held
    ]
    return ", ".join(f"{table}.{name}" for table in lacking)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
    return bool(con.execute(sql, [table]).fetchall()[0][0])


def _sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _empty_table(schema: pa.Schema) -> pa.Table:
    """A table with no rows and the lake columns, standing in for a table without files."""
    extra = [
        pa.field(c, INGESTION_TS_TYPE if c == "ingestion_ts" else pa.string())
        for c in LINEAGE_COLUMNS
        if c != "source_file"
    ]
    extra += [pa.field(c, pa.string()) for c in ("_file", "_part_key", "_part_value")]
    return pa.schema([*schema, *extra]).empty_table()


def _load_config_tables(con: duckdb.DuckDBPyConnection, config: EcomConfig) -> None:
    """The config facts the rules compare against, as small DuckDB tables."""
    params = config.parameters
    rates = params.financials.payment_fee_rates
    con.execute("CREATE TABLE cfg_fee_rates (payment_method VARCHAR, rate DOUBLE)")
    _insert(con, "cfg_fee_rates", list(rates.items()))
    con.execute("CREATE TABLE cfg_agents (agent_id VARCHAR)")
    _insert(con, "cfg_agents", [(a.id,) for a in config.vocab.agent_pool.agents])
    con.execute("CREATE TABLE cfg_allowed_payment (order_channel VARCHAR, payment_method VARCHAR)")
    allowed = [
        (channel, method)
        for channel, rule in config.channel_rules.items()
        for method in rule.allowed_payment_methods or []
    ]
    _insert(con, "cfg_allowed_payment", allowed)
    con.execute("CREATE TABLE cfg_return_channel (order_channel VARCHAR, return_channel VARCHAR)")
    preferred = [
        (channel, rule.return_channel_preference)
        for channel, rule in config.channel_rules.items()
        if rule.return_channel_preference
    ]
    _insert(con, "cfg_return_channel", preferred)
    window = params.pinned_window()
    if window is not None:
        con.execute("CREATE TABLE cfg_window (start_date DATE, end_date DATE)")
        _insert(con, "cfg_window", [window])


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
