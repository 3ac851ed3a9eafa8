"""A lake whose table metadata is damaged or gone: `verify` fails naming the table and the file
(no traceback), and `--repair` says which table it could not commit to, or rebuilds it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecomlake.api import generate, repair
from ecomlake.cli.app import run
from ecomlake.tables import TableOptions
from ecomlake.verify.report import verify_lake

from .lakes import START, tiny_config, world_options

ONE_DAY = {"dates": (START,), "start_date": None, "end_date": None}


def one_day_lake(target: Path, fmt: str) -> Path:
    assert generate(
        tiny_config(), world_options(str(target), tables=TableOptions(fmt), **ONE_DAY)
    ).ok
    return target


def newest(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[-1]


def garbage_metadata(lake: Path) -> Path:
    damaged = newest(lake / "customers" / "metadata", "*.metadata.json")
    damaged.write_text("garbage")
    return damaged


def missing_manifest(lake: Path) -> Path:
    damaged = newest(lake / "customers" / "metadata", "*-m0.avro")
    damaged.unlink()
    return damaged


def garbage_delta_commit(lake: Path) -> Path:
    damaged = newest(lake / "customers" / "_delta_log", "*.json")
    damaged.write_text("garbage\n")
    return damaged


def failures(report) -> list[str]:
    return [f"{v.check}: {v.detail}" for v in report.manifest_violations]


@pytest.mark.parametrize(
    ("fmt", "damage", "what"),
    [
        ("iceberg", garbage_metadata, "is not valid table metadata"),
        ("iceberg", missing_manifest, "is missing"),
        ("delta", garbage_delta_commit, "is not a valid Delta commit"),
    ],
)
def test_verify_names_the_damaged_table_file(tmp_path, capsys, fmt, damage, what):
    lake = one_day_lake(tmp_path / "lake", fmt)
    damaged = damage(lake).relative_to(lake).as_posix()
    assert run(["verify", str(lake)]) == 1  # checks failed, no traceback
    out = capsys.readouterr().out
    line = f"FAIL tables.unreadable: customers: {damaged} {what}"
    found = [ln.strip() for ln in out.splitlines() if "tables.unreadable" in ln]
    assert len(found) == 1 and found[0].startswith(line), out
    # the repair cannot read the table either: the line says what rebuilds it
    fix = "delete customers/_delta_log/" if fmt == "delta" else "again with --overwrite"
    assert fix in found[0], out


@pytest.mark.parametrize("fmt", ["iceberg", "delta"])
def test_a_table_without_its_metadata_fails_verify_by_name(tmp_path, fmt):
    lake = one_day_lake(tmp_path / "lake", fmt)
    folder = "metadata" if fmt == "iceberg" else "_delta_log"
    shutil.rmtree(lake / "customers" / folder)
    assert failures(verify_lake(str(lake))) == [
        f"tables.no_metadata: customers: no customers/{folder}/ (missing, or never committed), "
        f"so its partitions are in no {fmt} table"
    ]


def test_an_iceberg_lake_without_any_metadata_folder_fails_verify(tmp_path):
    """The lake's own catalog says it is an Iceberg lake when no table folder does."""
    lake = one_day_lake(tmp_path / "lake", "iceberg")
    for folder in lake.glob("*/metadata"):
        shutil.rmtree(folder)
    found = failures(verify_lake(str(lake)))
    assert found and all(f.startswith("tables.no_metadata: ") for f in found), found
    assert any(f.startswith("tables.no_metadata: customers: ") for f in found), found


def test_repair_names_the_iceberg_table_whose_metadata_is_missing(tmp_path, caplog):
    lake = one_day_lake(tmp_path / "lake", "iceberg")
    gone = newest(lake / "customers" / "metadata", "*.metadata.json").relative_to(lake)
    shutil.rmtree(lake / "customers" / "metadata")
    result = repair(world_options(str(lake)))
    assert not result.ok
    expected = f"customers: {gone.as_posix()} is missing"
    assert [f.error for f in result.failures] == [f"iceberg commit failed: {expected}"]
    assert f"iceberg table {expected}" in caplog.text
    assert f"repair failed: iceberg commit failed: {expected}" in caplog.text
    assert ", 1 failed (logged above)" in result.summary()


def test_repair_rebuilds_a_delta_table_whose_log_is_gone(tmp_path):
    lake = one_day_lake(tmp_path / "lake", "delta")
    shutil.rmtree(lake / "customers" / "_delta_log")
    result = repair(world_options(str(lake)))
    assert result.ok and not result.repaired
    partitions = len(list(lake.glob("customers/signup_dt=*")))
    assert result.table_commits == {"delta customers": partitions}  # said, not "0 repaired" alone
    assert (
        f"committed to tables that lacked them: delta customers ({partitions})" in result.summary()
    )
    assert not verify_lake(str(lake)).manifest_violations


@pytest.mark.parametrize("fmt", ["iceberg", "delta"])
def test_a_lake_with_every_table_folder_gone_is_known_from_its_run_record(tmp_path, fmt):
    """No table folder and no catalog left: the run record still says what the lake is."""
    lake = one_day_lake(tmp_path / "lake", fmt)
    for folder in [*lake.glob("*/metadata"), *lake.glob("*/_delta_log")]:
        shutil.rmtree(folder)
    (lake / "catalog.db").unlink(missing_ok=True)
    found = failures(verify_lake(str(lake)))
    assert any(f.startswith("tables.no_metadata: customers: ") for f in found), found


def test_an_iceberg_table_is_created_whole_in_one_commit(tmp_path):
    """Its first metadata file already has the identity partition and the name mapping: a
    table created in two commits was left unreadable by a kill between them."""
    import json

    lake = one_day_lake(tmp_path / "lake", "iceberg")
    first = json.loads(
        sorted((lake / "customers" / "metadata").glob("*.metadata.json"))[0].read_text()
    )
    (spec,) = first["partition-specs"]
    assert [f["name"] for f in spec["fields"]] == ["signup_dt"]
    assert "schema.name-mapping.default" in first["properties"]


def test_a_run_completes_an_iceberg_table_an_older_run_left_half_made(tmp_path):
    """A table with no partition spec and no name mapping (an older run created it in two
    commits and was killed between them) is completed by the next run, and readers read it."""
    from pyiceberg.catalog.sql import SqlCatalog

    lake = tmp_path / "lake"
    real = SqlCatalog.create_table

    def bare_then_killed(self, identifier, schema, location=None, **_):
        real(self, identifier, schema, location=location)  # what the old first commit made
        raise RuntimeError("killed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SqlCatalog, "create_table", bare_then_killed)
        options = world_options(str(lake), tables=TableOptions("iceberg"), **ONE_DAY)
        assert not generate(tiny_config(), options).ok  # the data is written, no table commit
    table = iceberg_table(lake, "customers")
    assert not table.spec().fields and "schema.name-mapping.default" not in table.properties
    one_day_lake(lake, "iceberg")
    table = iceberg_table(lake, "customers")
    assert [f.name for f in table.spec().fields] == ["signup_dt"]
    assert table.scan().to_arrow().num_rows == sum(
        pq_rows(p) for p in (lake / "customers").glob("*=*/*.parquet")
    )


def iceberg_table(lake: Path, name: str):
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "ecomlake", type="sql", uri=f"sqlite:///{lake}/catalog.db", warehouse=f"file://{lake}"
    )
    return catalog.load_table(("ecomlake", name))


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
