"""Where an Iceberg lake's tables live: file paths any folder or partition value can be read
back from, a catalog checked before anything is written, one lake per table location, and the
namespace a lake was made with found again by verify, --repair and later runs."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from ecomlake.api import generate, repair
from ecomlake.config.load import load_config_text
from ecomlake.errors import ConfigError
from ecomlake.tables import TableOptions
from ecomlake.verify.report import verify_lake

from .lakes import QUICK_CONFIG, START, tiny_config, world_options
from .tables_readers import canonical, catalog, hive_rows

ONE_DAY = {"dates": (START,), "start_date": None, "end_date": None}
ODD_CATEGORY = "C# Books 100%"


def odd_category_config():
    """The tiny world with a category whose partition folder has '#', ' ' and '%' in it."""
    text = QUICK_CONFIG.read_text().replace("num_customers: 2000", "num_customers: 100")
    text = text.replace("    books:\n", f'    "{ODD_CATEGORY.lower()}":\n')
    text = text.replace("Clothing, Books, Home", f'Clothing, "{ODD_CATEGORY}", Home')
    text = text.replace("books: 1.5", f'"{ODD_CATEGORY.lower()}": 1.5')
    return load_config_text(text, "quick.yaml with an odd category")


def iceberg_lake(target: Path, cfg=None, **table_options) -> Path:
    options = world_options(str(target), tables=TableOptions("iceberg", **table_options), **ONE_DAY)
    assert generate(cfg or tiny_config(), options).ok
    return target


def namespaces(lake: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(lake / "catalog.db") as con:
        query = "SELECT table_namespace, count(*) FROM iceberg_tables GROUP BY 1"
        return con.execute(query).fetchall()


def test_odd_folder_and_partition_names_read_back_through_iceberg(tmp_path):
    lake = iceberg_lake(tmp_path / "a#b%20c" / "lake", odd_category_config())
    assert (lake / "product_catalog" / f"category_key={ODD_CATEGORY}").is_dir()
    table = catalog(str(lake)).load_table(("ecomlake", "product_catalog"))
    expected = canonical(hive_rows(str(lake), "product_catalog"))
    assert canonical(table.scan().to_arrow()) == expected
    assert pl.scan_iceberg(table).collect()["category_key"].to_list().count(ODD_CATEGORY) > 0
    assert not verify_lake(str(lake)).manifest_violations


def test_a_catalog_option_the_default_catalog_cannot_take_fails_before_writing(tmp_path):
    """type=rest without a URI was sent the lake's SQLite file as its server's address."""
    target = tmp_path / "lake"
    rule = r"^TableOptions\.catalog_options: type=rest needs TableOptions\.catalog_uri, its serv"
    with pytest.raises(ConfigError, match=rule):
        iceberg_lake(target, catalog_options={"type": "rest"})
    assert not target.exists()


def test_a_shared_catalog_refuses_another_lakes_tables(tmp_path):
    shared = f"sqlite:///{tmp_path}/shared.db"
    iceberg_lake(tmp_path / "a", catalog_uri=shared)
    with pytest.raises(ConfigError, match=r"table ecomlake\.\w+ of this catalog is at .*/a/"):
        iceberg_lake(tmp_path / "b", catalog_uri=shared)
    assert not (tmp_path / "b").exists()
    iceberg_lake(tmp_path / "b", catalog_uri=shared, namespace="b")  # its own namespace


def test_a_lake_keeps_the_namespace_it_was_made_with(tmp_path):
    lake = iceberg_lake(tmp_path / "lake", namespace="sales")
    assert not verify_lake(str(lake)).manifest_violations
    damaged = sorted(lake.glob("customers/*/part-*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    assert repair(world_options(str(lake))).ok  # no --namespace given
    assert not verify_lake(str(lake)).manifest_violations
    with pytest.raises(ConfigError, match="this lake's tables are in namespace sales"):
        iceberg_lake(lake, namespace="other")
    [(name, _)] = namespaces(lake)
    assert name == "sales"


def test_odd_partition_names_through_delta_verify_and_rerun_without_a_new_version(tmp_path):
    """The Delta log keeps paths percent-encoded (`C%23%20Books...`): compared as they were,
    a healthy lake failed verify and every run committed a version re-adding those files."""
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    options = world_options(str(lake), tables=TableOptions("delta"), **ONE_DAY)
    assert generate(odd_category_config(), options).ok
    assert (lake / "product_catalog" / f"category_key={ODD_CATEGORY}").is_dir()
    assert not verify_lake(str(lake)).manifest_violations
    version = DeltaTable(str(lake / "product_catalog")).version()
    assert generate(odd_category_config(), options).ok
    assert DeltaTable(str(lake / "product_catalog")).version() == version


def test_a_delta_lake_in_a_folder_with_a_percent_is_refused_before_writing(tmp_path):
    target = tmp_path / "pct%20 lake"
    options = world_options(str(target), tables=TableOptions("delta"), **ONE_DAY)
    with pytest.raises(ConfigError, match=r"^--format delta: .*a path with '%' in it"):
        generate(tiny_config(), options)
    assert not target.exists()


def test_an_iceberg_lake_without_its_catalog_is_refused_not_forked(tmp_path):
    """A lake in another catalog (or whose catalog.db was deleted) used to get new tables over
    the same folders in a new catalog.db, from a run or a repair without --catalog-uri."""
    shared = f"sqlite:///{tmp_path}/shared.db"
    lake = iceberg_lake(tmp_path / "lake", catalog_uri=shared)
    assert not (lake / "catalog.db").exists()
    message = (
        r"^--catalog-uri: .* has Iceberg tables \(customers/metadata/, \.\.\.\) but no catalog"
    )
    options = world_options(str(lake), tables=TableOptions("iceberg"), **ONE_DAY)
    for call in (lambda: generate(tiny_config(), options), lambda: repair(options)):
        with pytest.raises(ConfigError) as caught:
            call()
        assert re.match(message, caught.value.render(lambda f: f"--{f.replace('_', '-')}"))
        assert not (lake / "catalog.db").exists()
    iceberg_lake(lake, catalog_uri=shared)  # with its catalog: fine
    replaced = world_options(str(lake), tables=TableOptions("iceberg"), overwrite=True, **ONE_DAY)
    assert generate(tiny_config(), replaced).ok  # --overwrite starts the tables afresh here
    assert not verify_lake(str(lake)).manifest_violations


def test_a_copied_iceberg_lake_is_told_how_to_make_its_tables_again(tmp_path):
    """Iceberg keeps absolute paths: a copy's catalog.db has the tables of the original. The
    message said "give another namespace or catalog", which cannot help."""
    original = iceberg_lake(tmp_path / "a" / "lake")
    copy = Path(shutil.copytree(original, tmp_path / "b" / "lake"))
    options = world_options(str(copy), tables=TableOptions("iceberg"), **ONE_DAY)
    with pytest.raises(ConfigError) as caught:
        generate(tiny_config(), options)
    text = caught.value.render(lambda f: f"--{f.replace('_', '-')}")
    assert text.startswith("--catalog-uri: this lake's catalog.db has its tables elsewhere")
    assert "copied or moved" in text
    found = verify_lake(str(copy)).manifest_violations
    (violation,) = [v for v in found if v.check == "tables.unreadable"]
    assert "--catalog-uri: this lake's catalog.db has its tables elsewhere" in violation.detail
    (copy / "catalog.db").unlink()  # what the message says to do
    replaced = world_options(str(copy), tables=TableOptions("iceberg"), overwrite=True, **ONE_DAY)
    assert generate(tiny_config(), replaced).ok
    assert not verify_lake(str(copy)).manifest_violations
    assert not verify_lake(str(original)).manifest_violations  # the original is untouched
