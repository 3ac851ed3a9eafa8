"""What else can stand in a lake's folders: data files a reader would take (any case of
`.parquet`, `.parq`, no suffix), sub-folders, links, FIFOs and links to devices. `verify` names
each without opening it (no hang, no memory blow-up), a re-run and `--repair` remove them, and
no run writes through a link to outside the lake."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ecomlake.api import generate, repair
from ecomlake.config import load_config
from ecomlake.errors import EcomlakeError
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify import check_manifests

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
PINNED = {"batch_id": "e1", "ingestion_ts": "2024-04-01T00:00:00+00:00"}
PARTITION = "shopping_carts/ingest_dt=2024-01-02"


def _options(target: Path, **kw) -> GenerateOptions:
    fields = {"start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 3), **PINNED}
    return GenerateOptions(target=str(target), executor="in-process", **fields, **kw)


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("entries") / "lake"
    assert generate(load_config(QUICK), _options(root)).ok
    return root


@pytest.fixture
def lake(original, tmp_path) -> Path:
    return Path(shutil.copytree(original, tmp_path / "lake", symlinks=True))


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and "_runs" not in p.parts
    }


def _fifo_part(lake: Path) -> None:
    os.mkfifo(lake / PARTITION / "part-00001.parquet")


def _part_to_dev_zero(lake: Path) -> None:
    part = lake / PARTITION / "part-00000.parquet"
    part.unlink()
    part.symlink_to("/dev/zero")


def _sub_folder(lake: Path) -> None:
    inner = lake / PARTITION / "late"
    inner.mkdir()
    shutil.copy(lake / PARTITION / "part-00000.parquet", inner / "part-00000.parquet")


def _part_is_a_folder(lake: Path) -> None:
    """A folder holding the name a re-render writes: the write would fail on it."""
    part = lake / PARTITION / "part-00000.parquet"
    part.unlink()
    part.mkdir()


def _upper_case(lake: Path) -> None:
    shutil.copy(lake / PARTITION / "part-00000.parquet", lake / PARTITION / "EXTRA.PARQUET")


def _no_suffix(lake: Path) -> None:
    shutil.copy(lake / PARTITION / "part-00000.parquet", lake / PARTITION / "extra")


def _hidden_copy(lake: Path) -> None:
    """Spark and pyarrow skip `_x.parquet`; a DuckDB or polars `**/*.parquet` glob reads it."""
    shutil.copy(lake / PARTITION / "part-00000.parquet", lake / PARTITION / "_copy.parquet")


def _hidden_folder(lake: Path) -> None:
    inner = lake / PARTITION / "_late"
    inner.mkdir()
    shutil.copy(lake / PARTITION / "part-00000.parquet", inner / "part-00000.parquet")


def _loop(lake: Path) -> None:
    (lake / PARTITION / "loop").symlink_to("loop")


def _at_table_root(lake: Path) -> None:
    shutil.copy(lake / PARTITION / "part-00000.parquet", lake / "shopping_carts" / "stray.parq")


def _stray_table_folder(lake: Path) -> None:
    shutil.copytree(lake / PARTITION, lake / "shopping_carts" / "backup")


# damage -> (the rule verify breaks, what it names)
DAMAGE: dict[Callable[[Path], None], tuple[str, str]] = {
    _fifo_part: ("manifests.unexpected_entry", f"{PARTITION}/part-00001.parquet"),
    _part_to_dev_zero: ("manifests.unexpected_entry", f"{PARTITION}/part-00000.parquet"),
    _sub_folder: ("manifests.unexpected_entry", f"{PARTITION}/late"),
    _part_is_a_folder: ("manifests.unexpected_entry", f"{PARTITION}/part-00000.parquet"),
    _upper_case: ("manifests.unlisted_file", f"{PARTITION}/EXTRA.PARQUET"),
    _no_suffix: ("manifests.unlisted_file", f"{PARTITION}/extra"),
    _loop: ("manifests.unexpected_entry", f"{PARTITION}/loop"),
    _hidden_copy: ("manifests.unlisted_file", f"{PARTITION}/_copy.parquet"),
    _hidden_folder: ("manifests.unexpected_entry", f"{PARTITION}/_late"),
    _at_table_root: ("manifests.unlisted_file", "shopping_carts/stray.parq"),
    _stray_table_folder: ("manifests.unexpected_entry", "shopping_carts/backup"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=lambda f: f.__name__.strip("_"))
def test_verify_names_it_and_repair_removes_it(lake, original, damage):
    damage(lake)
    rule, where = DAMAGE[damage]
    found = {v.check: v for v in check_manifests(str(lake))}
    assert rule in found, found
    assert where in found[rule].detail, found[rule]
    result = repair(_options(lake))
    assert result.ok, result
    assert check_manifests(str(lake)) == []
    assert _files(lake) == _files(original)
    assert not any(p.is_symlink() for p in lake.rglob("*"))


@pytest.mark.parametrize("where", ["shopping_carts/notes.txt", f"{PARTITION}/notes.txt"])
def test_someones_file_is_named_wherever_readers_meet_it_and_kept(lake, where):
    """A notes.txt beside the partitions passed verify, and pd.read_parquet of the table then
    failed on it; in a partition folder it was named. Either way, a repair leaves it."""
    import pandas as pd

    (lake / where).write_text("someone's notes")
    with pytest.raises(Exception, match=r"notes\.txt"):
        pd.read_parquet(lake / "shopping_carts")
    found = {v.check: v for v in check_manifests(str(lake))}
    assert (
        set(found) == {"manifests.foreign_file"} and where in found["manifests.foreign_file"].detail
    )
    assert repair(_options(lake)).ok
    assert (lake / where).read_text() == "someone's notes"


def test_a_plain_rerun_replaces_what_a_reader_would_trip_on(lake, original):
    _fifo_part(lake)
    _sub_folder(lake)
    _part_is_a_folder(lake)
    assert generate(load_config(QUICK), _options(lake)).ok
    assert check_manifests(str(lake)) == []
    assert _files(lake) == _files(original)


def test_a_linked_partition_is_replaced_and_its_target_left_alone(lake, original, tmp_path):
    outside = tmp_path / "outside"
    shutil.move(lake / PARTITION, outside)
    (lake / PARTITION).symlink_to(outside, target_is_directory=True)
    before = _files(outside)
    found = {v.check for v in check_manifests(str(lake))}
    assert "manifests.unexpected_entry" in found
    assert generate(load_config(QUICK), _options(lake)).ok
    assert not (lake / PARTITION).is_symlink()
    assert _files(lake) == _files(original)
    assert _files(outside) == before


def test_repair_counts_a_linked_partition_once(lake, original, tmp_path):
    """The link is taken away, then the partition rendered: one damaged, one repaired."""
    outside = tmp_path / "outside"
    shutil.move(lake / PARTITION, outside)
    (lake / PARTITION).symlink_to(outside, target_is_directory=True)
    result = repair(GenerateOptions(target=str(lake), executor="in-process"))
    assert result.ok and result.repaired == [PARTITION] and list(result.damaged) == [PARTITION]
    assert _files(lake) == _files(original)


def test_a_linked_table_folder_is_refused_before_anything_is_written(lake, tmp_path):
    outside = tmp_path / "outside"
    shutil.move(lake / "orders", outside)
    (lake / "orders").symlink_to(outside, target_is_directory=True)
    before = _files(outside)
    found = {v.check for v in check_manifests(str(lake))}
    assert "manifests.unexpected_entry" in found
    with pytest.raises(EcomlakeError, match="orders is a symbolic link"):
        generate(load_config(QUICK), _options(lake))
    with pytest.raises(EcomlakeError, match="orders is a symbolic link"):
        repair(_options(lake))
    assert _files(outside) == before


def test_overwrite_removes_a_linked_table_folder_not_what_it_points_to(lake, original, tmp_path):
    outside = tmp_path / "outside"
    shutil.move(lake / "orders", outside)
    (lake / "orders").symlink_to(outside, target_is_directory=True)
    before = _files(outside)
    assert generate(load_config(QUICK), _options(lake, overwrite=True)).ok
    assert _files(outside) == before
    assert not (lake / "orders").is_symlink()
    assert check_manifests(str(lake)) == []


def test_a_fifo_as_the_lake_file_is_an_error_not_a_hang(lake):
    (lake / "_lake.json").unlink()
    os.mkfifo(lake / "_lake.json")
    with pytest.raises(EcomlakeError, match="not a regular file"):
        generate(load_config(QUICK), _options(lake))


def test_a_listed_file_of_another_size_is_not_read(lake, monkeypatch):
    """The size comes from the listing; a file of the wrong size is reported without a read
    (a link to a huge file would otherwise be read whole)."""
    part = lake / PARTITION / "part-00000.parquet"
    part.write_bytes(part.read_bytes() + b"\0" * 16)
    from ecomlake.verify import manifests

    read: list[str] = []

    def recording(loc, rel):
        read.append(rel)
        return real(loc, rel)

    real = manifests.read_bytes
    monkeypatch.setattr(manifests, "read_bytes", recording)
    found = {v.check: v for v in manifests.check_manifests(str(lake))}
    assert f"e.g. {PARTITION}/part-00000.parquet (" in found["manifests.size"].detail
    assert f"{PARTITION}/part-00000.parquet" not in read
    assert any(rel.endswith(".parquet") for rel in read)  # the others were read


def test_a_lake_folder_named_with_glob_characters_is_read_as_named(original, tmp_path):
    """verify and stats read the lake's files through a glob: a folder such as `lake[1]` found
    no file at all, and `lake?x` also read its sibling `lakeAx` (every key twice)."""
    import ecomlake

    for name in ("lake[1]", "lake?x", "lakeAx"):
        shutil.copytree(original, tmp_path / name)
    plain = [check.n for check in ecomlake.stats(tmp_path / "lakeAx", replicates=2).checks]
    assert any(plain)
    for name in ("lake[1]", "lake?x"):
        report = ecomlake.verify(tmp_path / name, QUICK)
        assert report.ok, (name, [v.check for v in report.violations])
        counts = [check.n for check in ecomlake.stats(tmp_path / name, replicates=2).checks]
        assert counts == plain, name
