"""The library without a lake: render_day and read_ray_dataset give exactly the lake's rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ecomlake
from ecomlake.errors import ConfigError
from ecomlake.lake import ParquetOptions, RunIdentity, resolve_target, write_partition
from ecomlake.lineage import LINEAGE_COLUMNS, Lineage
from ecomlake.plan.calendar import day_number
from ecomlake.plan.world import WorldPlan
from ecomlake.render.day import split_partitions
from ecomlake.render.registry import TABLE_NAMES, table_spec
from ecomlake.run.driver import GenerateOptions

PINNED = {"batch_id": "test", "ingestion_ts": "2024-04-01T00:00:00+00:00"}  # as quick_lake's
FIRST, MID = "2024-01-01", "2024-02-15"


@pytest.fixture(scope="module")
def world(quick_config) -> WorldPlan:
    return ecomlake.plan_world(quick_config)


def _partitions(table: str, rows: pa.Table, day: str) -> list[tuple[str, pa.Table]]:
    return split_partitions(table_spec(table), rows, day_number(dt.date.fromisoformat(day)))


def _lake_partitions(lake: Path, table: str, day: str) -> set[str]:
    """The values of the lake's partitions of `table` that belong to `day`'s render."""
    spec = table_spec(table)
    found = {p.name.split("=", 1)[1] for p in (lake / table).glob(f"{spec.partition_key}=*")}
    if table == "product_catalog":
        return found if day == FIRST else set()
    return found & {day}


def _write_like_generate(tmp: Path, table: str, value: str, rows: pa.Table) -> list[bytes]:
    """The part files `generate`'s writer makes of `rows` with the quick lake's lineage."""
    spec = table_spec(table)
    write_partition(
        resolve_target(str(tmp)),
        table,
        spec.partition_key,
        value,
        rows,
        pk_columns=spec.pk,
        event_date_column=spec.event_date_column,
        lineage=Lineage(**PINNED),
        parquet=ParquetOptions(),
        identity=RunIdentity(0, "", ""),
    )
    folder = tmp / table / f"{spec.partition_key}={value}"
    return [p.read_bytes() for p in sorted(folder.glob("*.parquet"))]


@pytest.mark.parametrize("day", [FIRST, MID])
def test_render_day_writes_the_lakes_bytes(tmp_path, world, quick_lake, day):
    tables = ecomlake.render_day(world, day)
    assert list(tables) == list(TABLE_NAMES)
    for table, rows in tables.items():
        parts = _partitions(table, rows, day)
        assert {v for v, _ in parts} == _lake_partitions(quick_lake, table, day), table
        for value, part in parts:
            key = table_spec(table).partition_key
            lake = sorted((quick_lake / table / f"{key}={value}").glob("*.parquet"))
            written = _write_like_generate(tmp_path, table, value, part)
            assert written == [p.read_bytes() for p in lake], f"{table}/{key}={value}"


def test_render_day_lineage_columns_are_the_lakes(world, quick_lake):
    orders = ecomlake.render_day(world, MID, ["orders"], **PINNED)["orders"]
    lake = pq.read_table(quick_lake / "orders" / f"ingest_dt={MID}" / "part-00000.parquet")
    assert orders.column_names[-3:] == list(LINEAGE_COLUMNS[:3])
    assert orders.equals(lake)


def test_render_day_without_lineage_leaves_it_out(world):
    orders = ecomlake.render_day(world, dt.date(2024, 2, 15), "orders")["orders"]
    assert not set(LINEAGE_COLUMNS) & set(orders.column_names)
    assert orders.num_rows > 0


def test_render_day_tables_subset_equals_the_full_days(world):
    full = ecomlake.render_day(world, MID, messiness_level="heavy_mess")
    subset = ecomlake.render_day(world, MID, ["returns", "orders"], "heavy_mess")
    assert list(subset) == ["orders", "returns"]  # lake order, whatever the order asked
    for name, rows in subset.items():
        assert rows.equals(full[name]), name


def test_render_day_heavy_mess_differs_from_clean(world):
    clean = ecomlake.render_day(world, MID, ["orders"])["orders"]
    messy = ecomlake.render_day(world, MID, ["orders"], "heavy_mess")["orders"]
    assert not messy.equals(clean)


@pytest.mark.slow
def test_render_day_heavy_mess_writes_the_lakes_bytes(tmp_path, quick_config, world):
    lake = tmp_path / "messy"
    options = GenerateOptions(
        executor="in-process",
        start_date=dt.date(2024, 2, 14),
        end_date=dt.date(2024, 2, 16),
        messiness_level="heavy_mess",
        **PINNED,
    )
    assert ecomlake.generate(quick_config, options, target=str(lake)).ok
    tables = ecomlake.render_day(world, MID, messiness_level="heavy_mess", **PINNED)
    for table in ("customers", "orders", "order_items", "returns"):
        key = table_spec(table).partition_key
        written = pq.read_table(lake / table / f"{key}={MID}" / "part-00000.parquet")
        assert tables[table].equals(written), table


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day": "2024-13-01"}, "day: expected a date like 2024-01-05, got '2024-13-01'"),
        ({"day": 20240105}, "day: expected a date"),
        (
            {"day": "2025-01-01"},
            "day: 2025-01-01 is outside the world window 2024-01-01..2024-03-31",
        ),
        ({"tables": ["orders", "nope"]}, "tables: no table 'nope' (tables: customers,"),
        ({"messiness_level": "chaos"}, "messiness_level: must be one of"),
        ({"batch_id": "b"}, "ingestion_ts: needed too when lineage columns are asked for"),
        ({"batch_id": "b", "ingestion_ts": "noon"}, "ingestion_ts: must be an ISO timestamp"),
    ],
)
def test_render_day_bad_argument_is_one_line_naming_it(world, kwargs, message):
    arguments = {"day": MID, **kwargs}
    with pytest.raises(ConfigError) as caught:
        ecomlake.render_day(world, **arguments)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and "--" not in str(caught.value)


def test_load_config_takes_a_path_a_dict_or_a_model(quick_config):
    import yaml

    from ecomlake.config.load import _ConfigLoader

    path = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"
    body = yaml.load(path.read_text(encoding="utf-8"), Loader=_ConfigLoader)
    assert ecomlake.load_config(str(path)) == quick_config
    assert ecomlake.load_config(body) == quick_config
    assert ecomlake.load_config(quick_config) is quick_config
    with pytest.raises(ConfigError, match=r"^faker_seed: "):
        ecomlake.load_config({**body, "faker_seed": "x"})
    with pytest.raises(ConfigError, match="config: expected a path, a dict or an EcomConfig"):
        ecomlake.load_config(42)
    with pytest.raises(ConfigError, match=r"^config: the path is empty$"):
        ecomlake.load_config("")


def test_plan_world_comes_from_the_plan_cache_the_second_time(quick_config, plan_cache_dir):
    first = ecomlake.plan_world(quick_config, seed=7)
    assert list(plan_cache_dir.glob("plan-*.npz"))
    again = ecomlake.plan_world(quick_config, seed=7)
    assert (again.seed, again.start_day, again.end_day) == (7, first.start_day, first.end_day)
    assert (again.carts.size, again.orders.size) == (first.carts.size, first.orders.size)
    with pytest.raises(ConfigError, match=r"^seed: must be a whole number from 0 to 2\*\*64 - 1"):
        ecomlake.plan_world(quick_config, seed="7")


@pytest.mark.ray
def test_ray_dataset_rows_are_the_lakes_table(ray_session, quick_config, quick_lake):
    ray = ray_session
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    days = [f"2024-02-{d:02d}" for d in range(1, 11)]
    files = [quick_lake / "orders" / f"ingest_dt={d}" / "part-00000.parquet" for d in days]
    lake = pa.concat_tables(pq.read_table(f) for f in files if f.exists())  # some days sell none
    dataset = ecomlake.read_ray_dataset(quick_config, "orders", days[0], days[-1], **PINNED)
    rows = pa.concat_tables(ray.get(dataset.to_arrow_refs()))
    assert rows.num_rows == lake.num_rows
    assert rows.equals(lake.cast(rows.schema))


@pytest.mark.ray
def test_ray_dataset_of_days_without_rows_has_the_tables_schema(ray_session, quick_config):
    """The world's first days have no returns: the dataset is empty, its schema still there."""
    empty = ecomlake.read_ray_dataset(quick_config, "returns", "2024-01-01", "2024-01-02")
    later = ecomlake.read_ray_dataset(quick_config, "returns", "2024-03-01", "2024-03-05")
    assert empty.count() == 0 and later.count() > 0
    assert empty.schema() is not None and empty.schema() == later.schema()


@pytest.mark.ray
def test_ray_dataset_customers_are_the_lakes_customers(ray_session, quick_config, quick_lake):
    dataset = ecomlake.read_ray_dataset(quick_config, "customers")
    lake = pq.read_table(quick_lake / "customers", partitioning=None).drop_columns(
        list(LINEAGE_COLUMNS[:3])
    )
    mine = pa.concat_tables(ray_session.get(dataset.to_arrow_refs())).sort_by("customer_id")
    assert mine.equals(lake.sort_by("customer_id").cast(mine.schema))


@pytest.mark.slow  # importing ray.data takes seconds
def test_ray_dataset_bad_table_or_day_names_the_argument(quick_config):
    with pytest.raises(ConfigError, match=r"^table: no table 'order'"):
        ecomlake.read_ray_dataset(quick_config, "order")
    with pytest.raises(ConfigError, match=r"^table: expected one table name, got \['orders'\]$"):
        ecomlake.read_ray_dataset(quick_config, ["orders"])
    with pytest.raises(ConfigError, match=r"^end: 2024-05-01 is outside the world window"):
        ecomlake.read_ray_dataset(quick_config, "orders", "2024-03-01", "2024-05-01")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(batch_id="a b"), target=tmp),
            "GenerateOptions.batch_id: use letters",
        ),
        (
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(days=0), target=tmp),
            "GenerateOptions.days: must be at least 1",
        ),
        (
            lambda cfg, tmp: ecomlake.repair(GenerateOptions(target=tmp), cfg),
            "GenerateOptions.repair: ",
        ),
        (
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(workers=0), target=tmp),
            "GenerateOptions.workers: must be at least 1, got 0",
        ),
        (  # a callable where a RunProgress goes: refused before the lake's files are written
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(), lambda *a: None, target=tmp),
            "progress: expected a RunProgress or None, got <function",
        ),
        (
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(), None, "stop", target=tmp),
            "stop: expected a StopRequest or None, got 'stop'",
        ),
        (lambda cfg, tmp: ecomlake.verify(tmp, workers=-1), "workers: must be at least 1, got -1"),
        (lambda cfg, tmp: ecomlake.verify(tmp, deep="yes"), "deep: expected True or False"),
        (
            lambda cfg, tmp: ecomlake.verify(tmp, storage_options=[1]),
            "storage_options: expected a dict or None, got [1]",
        ),
        (
            lambda cfg, tmp: ecomlake.plan_world(cfg, today=dt.datetime(2024, 3, 1, 5)),
            "today: expected a date like 2024-01-05",
        ),
        (  # a pinned window: start and end must lie in it, as read_ray_dataset says
            lambda cfg, tmp: ecomlake.plan_world(cfg, start="2019-01-01", end="2019-02-10"),
            "start: 2019-01-01 is outside the world window 2024-01-01..2024-03-31",
        ),
        (  # refused, not a local folder named "s3:"
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(target=f"s3:{tmp}")),
            "GenerateOptions.target: 's3:/",
        ),
    ],
)
def test_library_errors_name_option_fields_not_flags(tmp_path, quick_config, call, message):
    target = str(tmp_path / "lake")
    with pytest.raises(ConfigError) as caught:
        call(quick_config, target)
    assert str(caught.value).startswith(message)
    assert not (tmp_path / "lake").exists()


def test_a_numpy_integer_is_a_seed(quick_config):
    import numpy as np

    assert GenerateOptions(seed=np.uint64(7)).seed == 7
    assert type(GenerateOptions(seed=np.int64(7)).seed) is int
    with pytest.raises(ConfigError, match=r"^GenerateOptions.seed: must be a whole number"):
        GenerateOptions(seed=np.bool_(True))
    body = quick_config.model_dump(mode="json", exclude_none=True)
    assert ecomlake.load_config({**body, "faker_seed": np.int64(7)}).faker_seed == 7


def test_table_options_are_exported():
    from ecomlake.tables.options import TableOptions

    assert ecomlake.TableOptions is TableOptions and "TableOptions" in ecomlake.__all__


def test_the_cli_still_names_flags(tmp_path, capsys):
    from ecomlake.cli.app import run

    code = run(["generate", "--config", str(Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"), "--target", str(tmp_path / "lake"),
                "--batch-id", "a b"])  # fmt: skip
    assert code == 2
    assert "--batch-id: use letters" in capsys.readouterr().err
