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
QUICK_YAML = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"


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

    path = QUICK_YAML
    body = yaml.load(path.read_text(encoding="utf-8"), Loader=_ConfigLoader)
    assert ecomlake.load_config(str(path)) == quick_config
    assert ecomlake.load_config(body) == quick_config
    assert ecomlake.load_config(quick_config) == quick_config  # validated again, equal
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


@pytest.mark.ray
def test_a_datasource_built_by_hand_takes_ray_datas_read_options(ray_session, world):
    """The exported source, given a plan, a table and days, reads as read_ray_dataset does;
    Ray Data's own options (override_num_blocks) go to read_datasource."""
    days = ["2024-02-02", "2024-02-01", "2024-02-02"]  # sorted and each read once
    source = ecomlake.EcomDatasource(world, "orders", days)
    mine = ray_session.data.read_datasource(source, override_num_blocks=2)
    lib = ecomlake.read_ray_dataset(world.config, "orders", "2024-02-01", "2024-02-02")
    assert sorted(mine.to_pandas()["order_id"]) == sorted(lib.to_pandas()["order_id"])
    assert mine.count() > 0
    empty = ray_session.data.read_datasource(ecomlake.EcomDatasource(world, "orders", []))
    assert empty.count() == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("orders", "orders"),
            {},
            "world: expected the WorldPlan of plan_world(config), got 'orders'",
        ),
        ((None, "order"), {}, "table: no table 'order'"),
        ((None, ["orders"]), {}, "table: expected one table name, got ['orders']"),
        ((None, "orders", "2024-02-01"), {}, "days: expected a list of dates or None"),
        ((None, "orders", ["2025-01-01"]), {}, "days: 2025-01-01 is outside the world window"),
        ((None, "orders", None, "xx"), {}, "messiness_level: must be one of"),
        ((None, "orders"), {"batch_id": "b"}, "ingestion_ts: needed too"),
    ],
)
def test_a_datasource_checks_its_arguments_before_ray(world, args, kwargs, message):
    """Before, each of these was an AttributeError or a RayTaskError from inside a read task."""
    args = tuple(world if a is None and i == 0 else a for i, a in enumerate(args))
    with pytest.raises(ConfigError) as caught:
        ecomlake.EcomDatasource(*args, **kwargs)
    assert str(caught.value).startswith(message)


def test_a_model_changed_without_validation_is_validated_again(quick_config):
    """pydantic's model_copy(update=...) and in-place edits skip validation: load_config (and so
    every library call) validates a model again, as the YAML would be."""
    bad_seed = quick_config.model_copy(update={"faker_seed": -5})
    with pytest.raises(ConfigError, match=r"^faker_seed: must be a whole number"):
        ecomlake.plan_world(bad_seed, plan_cache=False)
    rate = quick_config.parameters.model_copy(update={"conversion_rate": 5.0})
    with pytest.raises(ConfigError, match=r"^parameters.conversion_rate: "):
        ecomlake.load_config(quick_config.model_copy(update={"parameters": rate}))
    edited = ecomlake.load_config(quick_config)
    edited.vocab.categories.append("Garden")  # a frozen model's list is still a list
    with pytest.raises(ConfigError, match=r"^vocab.categories\[\d+\]: "):
        ecomlake.plan_world(edited, plan_cache=False)
    with pytest.raises(ConfigError, match=r"^config: the model holds a value it cannot"):
        ecomlake.load_config(quick_config.model_copy(update={"faker_seed": object()}))


def test_table_and_column_names_are_checked_by_load_config(quick_config):
    """Before, a misspelt table passed load_config, and a misspelt column passed plan_world
    too (and was cached), to be refused by the first render_day."""
    body = quick_config.model_dump(mode="json", exclude_none=True)
    body["tables"][0]["name"] = "custmers"
    with pytest.raises(ConfigError, match=r"^tables\[0\].name: no table 'custmers'"):
        ecomlake.load_config(body)
    body = quick_config.model_dump(mode="json", exclude_none=True)
    body["tables"][0]["columns"].append({"name": "phone_numbr", "type": "TEXT"})
    with pytest.raises(ConfigError, match=r"customers has no column 'phone_numbr'$"):
        ecomlake.load_config(body)


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
            "GenerateOptions.target: ",
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
        (
            lambda cfg, tmp: ecomlake.stats(tmp, storage_options=5),
            "storage_options: expected a dict or None, got 5",
        ),
        (
            lambda cfg, tmp: ecomlake.generate(cfg, GenerateOptions(storage_options={1: 2})),
            "GenerateOptions.storage_options: expected a dict whose keys are text, got {1: 2}",
        ),
        (
            lambda cfg, tmp: ecomlake.TableOptions("iceberg", catalog_uri=5),
            "TableOptions.catalog_uri: expected text or None, got 5",
        ),
        (
            lambda cfg, tmp: ecomlake.TableOptions("delta", catalog_options={"k": 1}),
            "TableOptions.catalog_options: expected text values",
        ),
        (
            lambda cfg, tmp: ecomlake.TableOptions("iceberg", catalog_options=[1]),
            "TableOptions.catalog_options: expected a dict or None, got [1]",
        ),
        (lambda cfg, tmp: ecomlake.verify(tmp), "target: no lake at "),
        (lambda cfg, tmp: ecomlake.stats(tmp), "target: no lake at "),
        (
            lambda cfg, tmp: ecomlake.plan_world(cfg, plan_cache="no"),
            "plan_cache: expected True or False, got 'no'",
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

    code = run(["generate", "--config", str(QUICK_YAML), "--target", str(tmp_path / "lake"),
                "--batch-id", "a b"])  # fmt: skip
    assert code == 2
    assert "--batch-id: use letters" in capsys.readouterr().err


@pytest.mark.ray
def test_a_ray_address_other_than_the_connected_rays_is_refused(ray_session, tmp_path):
    """With Ray already up in the process (the user's, or read_ray_dataset's), generate and
    verify given another cluster's address ran on the local Ray and said nothing."""
    import socket

    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(8)  # something answers there: the address passes the probe
    address = f"127.0.0.1:{other.getsockname()[1]}"
    options = GenerateOptions(dates=(MID,), executor="ray", ray_address=address)
    try:
        with pytest.raises(ConfigError, match=r"^GenerateOptions.ray_address: this process is "):
            ecomlake.generate(QUICK_YAML, options, target=str(tmp_path / "lake"))
        with pytest.raises(ConfigError, match=r"^ray_address: this process is already connected"):
            ecomlake.verify(tmp_path / "lake", ray_address=address)
    finally:
        other.close()
    assert not (tmp_path / "lake").exists()
    from ecomlake.run.executors import _connected_to

    port = ray_session.get_runtime_context().gcs_address.rpartition(":")[2]
    for same in (f"127.0.0.1:{port}", f"localhost:{port}", "auto"):
        assert _connected_to(ray_session, same), same


def test_a_plan_prints_short_and_compares_by_identity(world, quick_config):
    """== over the plan's arrays raised (an ambiguous truth value) and the repr ran to 40 KB."""
    text = repr(world)
    assert text.startswith("WorldPlan(seed=42, window=2024-01-01..2024-03-31, customers=2,000")
    assert len(text) < 200
    assert world == world and world != ecomlake.plan_world(quick_config)
    assert len({world}) == 1  # hashable: a plan can key a dict


def test_repair_takes_a_target_as_generate_does(tmp_path, quick_config):
    """The docs' `repair(options)` after `generate(..., target=...)` repaired `output/lake` of
    the working folder: repair takes `target=` too."""
    lake = tmp_path / "lake"
    options = GenerateOptions(executor="in-process", dates=(MID,), **PINNED)
    assert ecomlake.generate(quick_config, options, target=lake).ok
    part = next(lake.glob("orders/*/part-00000.parquet"))
    whole = part.read_bytes()
    part.write_bytes(whole[:10])
    result = ecomlake.repair(options, target=lake)
    assert result.target == str(lake) and len(result.repaired) == 1
    assert part.read_bytes() == whole
