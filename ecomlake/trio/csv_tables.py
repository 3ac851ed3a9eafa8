"""The trio's CSV codec: Arrow tables to ISO-formatted CSV and back, with an exact round trip.

Timestamps `YYYY-MM-DDTHH:MM:SS.ffffff`, dates `YYYY-MM-DD`, booleans `True`/`False`, nulls empty
and unquoted, empty strings `""`; money (decimal cents) is written as the shortest text of the
float cents / 100, e.g. `12.5`, the older tool's spelling, and reads back into the same decimal.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ecomlake.errors import ConfigError
from ecomlake.render.columns import money_as_float

# For a timestamp[us] column Arrow's %S prints seconds with the 6 fractional digits.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
TRUE_TEXT, FALSE_TEXT = "True", "False"


def _text_type(kind: pa.DataType) -> pa.DataType:
    """The type a column has once formatted for CSV."""
    if pa.types.is_timestamp(kind) or pa.types.is_boolean(kind):
        return pa.string()
    if pa.types.is_decimal(kind):
        return pa.float64()
    return kind


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """Schema of the formatted table (timestamps and booleans become text, money float)."""
    return pa.schema([pa.field(f.name, _text_type(f.type)) for f in schema])


def format_for_csv(table: pa.Table) -> pa.Table:
    """Cast timestamps, booleans and money to the ISO / Python-style text the older tool wrote."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format=TIMESTAMP_FORMAT)
        elif pa.types.is_boolean(column.type):
            column = pc.if_else(column, TRUE_TEXT, FALSE_TEXT)
        elif pa.types.is_decimal(column.type):
            column = money_as_float(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=csv_schema(table.schema))


class CsvSink:
    """One CSV file appended to day by day; the header is written when it opens."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.rows = 0
        self._schema = schema
        self._writer = pa_csv.CSVWriter(str(path), csv_schema(schema))

    def write(self, table: pa.Table) -> None:
        if table.schema != self._schema:
            raise ValueError(f"{self.path.name}: columns {table.schema.names} != the header's")
        if table.num_rows:
            self._writer.write_table(format_for_csv(table))
            self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def csv_header(path: Path, flag: str) -> list[str]:
    """Column names from the first line of a CSV file; a byte-order mark (Excel writes one)
    is not part of the first name, as Arrow's reader skips it too."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{flag}: cannot read {path} ({exc})") from None


def read_csv_table(
    path: Path, schema: pa.Schema, flag: str, columns: Sequence[str] | None = None
) -> pa.Table:
    """Read a trio CSV back with `schema`'s types, restricted to the file's (or `columns`) columns.

    The file's header decides the column order, so the table equals what was written.
    """
    header = csv_header(path, flag)
    unknown = [name for name in header if name not in schema.names]
    if not header or unknown:
        what = f"unknown column(s) {unknown}" if header else "no header"
        raise ConfigError(f"{flag}: {path} has {what} for table {path.stem}")
    wanted = list(columns) if columns is not None else header
    missing = [name for name in wanted if name not in header]
    if missing:
        raise ConfigError(f"{flag}: {path} lacks column(s) {missing}")
    convert = pa_csv.ConvertOptions(
        column_types={name: schema.field(name).type for name in header},
        include_columns=wanted,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,  # "" is an empty string, an empty field is null
        true_values=[TRUE_TEXT],
        false_values=[FALSE_TEXT],
    )
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    try:
        table = pa_csv.read_csv(str(path), parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{flag}: cannot read {path} ({reason})") from None
    return table.combine_chunks()
