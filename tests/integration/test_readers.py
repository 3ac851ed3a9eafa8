"""The one-liners in README and docs/reading.md open a generated lake in every common reader.

Each reader must see every row of the table (the manifests' totals) and the exact money sum
(added up in integer cents from the part files, independently of the reader under test), with
the partition column beside the typed data columns, never merged with them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecomlake.api import generate
from ecomlake.lake import MANIFEST_NAME
from ecomlake.render.columns import MONEY, cents
from ecomlake.run.driver import GenerateOptions
from ecomlake.tables import TableOptions

# (table, money column, partition key, a typed column that must keep its type)
TABLES = (
    ("orders", "net_total", "ingest_dt", ("order_date", pa.timestamp("us"))),
    ("customers", None, "signup_dt", ("signup_date", pa.date32())),
    ("product_catalog", "unit_price", "category_key", ("category", pa.string())),
)


def _generate(root: Path, quick_config, fmt: str = "parquet") -> Path:
    """Three days of the quick world: a few hundred partitions, each with manifest and _SUCCESS;
    with `fmt` iceberg or delta, tables over them."""
    options = GenerateOptions(
        target=str(root),
        executor="in-process",
        start_date=dt.date(2024, 3, 1),
        days=3,
        tables=TableOptions(fmt),
    )
    assert generate(quick_config, options).ok
    return root


@pytest.fixture(scope="module")
def lake(tmp_path_factory, quick_config) -> Path:
    return _generate(tmp_path_factory.mktemp("readers") / "lake", quick_config)


@pytest.fixture(scope="module", params=["iceberg", "delta"])
def table_lake(request, tmp_path_factory, quick_config) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp(f"readers-{request.param}") / "lake"
    return request.param, _generate(root, quick_config, request.param)


def _rows(lake: Path, table: str) -> int:
    manifests = lake.glob(f"{table}/*=*/{MANIFEST_NAME}")  # not an Iceberg table's metadata
    return sum(json.loads(p.read_text())["total_rows"] for p in manifests)


def _money_sum(lake: Path, table: str, column: str) -> Decimal:
    total = sum(
        int(cents(pq.read_table(p, columns=[column]).column(column))[0].sum())
        for p in lake.glob(f"{table}/*/*.parquet")
    )
    return Decimal(total).scaleb(-2)


@pytest.mark.slow
@pytest.mark.parametrize(("table", "money", "key", "typed"), TABLES)
def test_pandas(lake: Path, table: str, money: str | None, key: str, typed) -> None:
    import pandas as pd

    df = pd.read_parquet(lake / table)
    assert len(df) == _rows(lake, table) > 0
    assert key in df.columns and typed[0] in df.columns
    if money:
        assert df[money].sum() == _money_sum(lake, table, money)


@pytest.mark.slow
@pytest.mark.parametrize(("table", "money", "key", "typed"), TABLES)
def test_pyarrow_dataset(lake: Path, table: str, money: str | None, key: str, typed) -> None:
    import pyarrow.dataset as ds

    data = ds.dataset(lake / table, partitioning="hive").to_table()
    assert data.num_rows == _rows(lake, table)
    assert data.schema.field(typed[0]).type == typed[1]
    assert key in data.column_names
    if money:
        assert data.schema.field(money).type == MONEY
        assert Decimal(int(cents(data.column(money))[0].sum())).scaleb(-2) == _money_sum(
            lake, table, money
        )


@pytest.mark.slow
@pytest.mark.parametrize(("table", "money", "key", "typed"), TABLES)
def test_polars(lake: Path, table: str, money: str | None, key: str, typed) -> None:
    import polars as pl

    glob = str(lake / table / "**" / "*.parquet")
    eager = pl.read_parquet(glob, hive_partitioning=True)
    lazy = pl.scan_parquet(glob, hive_partitioning=True).collect()
    assert eager.height == lazy.height == _rows(lake, table)
    assert key in eager.columns and typed[0] in eager.columns
    if money:
        assert eager.schema[money] == pl.Decimal(12, 2)
        assert eager[money].sum() == lazy[money].sum() == _money_sum(lake, table, money)


@pytest.mark.slow
@pytest.mark.parametrize(("table", "money", "key", "typed"), TABLES)
def test_duckdb(lake: Path, table: str, money: str | None, key: str, typed) -> None:
    import duckdb

    source = f"read_parquet('{lake / table}/**/*.parquet', hive_partitioning=true)"
    total = f"sum({money})" if money else "NULL"
    rows, amount = duckdb.sql(f"SELECT count(*), {total} FROM {source}").fetchall()[0]
    assert rows == _rows(lake, table)
    names = [c[0] for c in duckdb.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    assert key in names and typed[0] in names
    if money:
        assert amount == _money_sum(lake, table, money)


@pytest.mark.slow
def test_ray_data(lake: Path, ray_session) -> None:
    import ray

    data = ray.data.read_parquet(str(lake / "orders"))
    frame = data.to_pandas()
    assert data.count() == len(frame) == _rows(lake, "orders")
    assert "ingest_dt" in frame.columns
    assert frame["net_total"].sum() == _money_sum(lake, "orders", "net_total")


@pytest.mark.slow
def test_ray_data_tables(table_lake: tuple[str, Path], ray_session) -> None:
    import ray

    fmt, lake = table_lake
    if fmt == "delta":
        data = ray.data.read_delta(str(lake / "orders"))
    else:
        catalog = {
            "name": "ecomlake",
            "type": "sql",
            "uri": f"sqlite:///{lake}/catalog.db",
            "warehouse": f"file://{lake}",
        }
        data = ray.data.read_iceberg(table_identifier="ecomlake.orders", catalog_kwargs=catalog)
    frame = data.to_pandas()
    assert len(frame) == _rows(lake, "orders")
    assert frame["net_total"].sum() == _money_sum(lake, "orders", "net_total")
    assert sorted({d.isoformat() for d in frame["ingest_dt"]}) == [
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
    ]
