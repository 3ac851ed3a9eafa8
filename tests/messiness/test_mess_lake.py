"""Messy lakes end to end: clean levels unchanged, P1 with mess on, resume, CLI, verify, trio."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from mess_helpers import PINNED, QUICK, digest, first_difference

from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import ConfigError
from ecomlake.export.raw_run import RawRunOptions, run_generator
from ecomlake.lineage import LINEAGE_COLUMNS
from ecomlake.messiness import DEFECT_SCHEMA, expected_breaks, resolve_level, undo_defects
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify.invariants import check_invariants
from ecomlake.verify.manifests import check_manifests

START, END = dt.date(2024, 2, 1), dt.date(2024, 2, 3)
# The 2024-02-01..03 quick lake at level none, generated before messiness existed: 967 files.
GOLDEN_FILES = 967
GOLDEN_DIGEST = "16b85b4d1663f4ba482066ad8fa1ae3600b2ee14e753ab16352483885b6db5a8"


def _generate(target: Path, level: str, **overrides) -> dict[str, str]:
    fields = {"start_date": START, "end_date": END, "executor": "in-process", **PINNED}
    fields.update(overrides)
    result = generate(QUICK, GenerateOptions(target=str(target), messiness_level=level, **fields))
    assert result.ok, result.failures
    return digest(target)


def _combined(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _read(root: Path, table: str) -> pa.Table:
    """A table's rows across its partitions, lineage dropped, in a stable order."""
    data = pa.concat_tables([pq.read_table(p) for p in sorted((root / table).glob("*/*.parquet"))])
    return data.drop_columns([c for c in LINEAGE_COLUMNS if c in data.column_names])


def _logs(root: Path) -> pa.Table:
    return pa.concat_tables([_read(root, p.name) for p in sorted(root.glob("_defects*"))])


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("none") / "lake"
    return root, _generate(root, "none")


@pytest.fixture(scope="module")
def heavy_lake(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("heavy") / "lake"
    return root, _generate(root, "heavy_mess")


class TestCleanLevels:
    def test_none_is_byte_identical_to_the_lake_before_messiness(self, clean_lake):
        _, files = clean_lake
        assert len(files) == GOLDEN_FILES and _combined(files) == GOLDEN_DIGEST, (
            "the clean lake changed: if a renderer changed on purpose, regenerate GOLDEN_* "
            "from a run at level none of 2024-02-01..03 (mess_helpers.digest)"
        )
        assert not any(name.startswith("_defects") for name in files)

    def test_baseline_equals_none(self, tmp_path, clean_lake):
        baseline = _generate(tmp_path / "lake", "baseline")
        assert baseline == clean_lake[1], first_difference(baseline, clean_lake[1])


class TestDeterminism:
    def test_heavy_lake_has_logs_with_manifests(self, heavy_lake):
        root, files = heavy_lake
        for day in ("2024-02-01", "2024-02-02", "2024-02-03"):
            part = root / "_defects" / f"ingest_dt={day}"
            assert {"_SUCCESS", "_MANIFEST.json", "_DEFECT_COUNTS.json"} <= {
                p.name for p in part.iterdir()
            }
            counts = json.loads((part / "_DEFECT_COUNTS.json").read_text())
            assert (
                counts["level"] == "heavy_mess" and counts["cells"] == pq.read_table(part).num_rows
            )
        assert any(name.startswith("_defects_customers/signup_date=") for name in files)
        assert check_manifests(str(root)) == []

    def test_split_run_equals_whole(self, tmp_path, heavy_lake):
        target = tmp_path / "split"
        _generate(target, "heavy_mess", end_date=dt.date(2024, 2, 1))
        halves = _generate(target, "heavy_mess", start_date=dt.date(2024, 2, 2))
        assert halves == heavy_lake[1], first_difference(halves, heavy_lake[1])

    @pytest.mark.ray
    def test_ray_two_workers_equals_in_process(self, ray_session, tmp_path, heavy_lake):
        on_ray = _generate(tmp_path / "lake", "heavy_mess", executor="ray", workers=2)
        assert on_ray == heavy_lake[1], first_difference(on_ray, heavy_lake[1])

    def test_resume_skips_and_repairs(self, tmp_path, heavy_lake):
        root = Path(shutil.copytree(heavy_lake[0], tmp_path / "lake"))
        shutil.rmtree(root / "orders" / "ingest_dt=2024-02-02")
        shutil.rmtree(root / "_defects" / "ingest_dt=2024-02-02")
        signup = sorted((root / "_defects_customers").iterdir())[-1]
        shutil.rmtree(signup)  # a log goes with its data partition: uncommit both
        (root / "customers" / signup.name / "_SUCCESS").unlink()
        again = _generate(root, "heavy_mess")
        assert again == heavy_lake[1], first_difference(again, heavy_lake[1])

    def test_messy_lake_refuses_a_clean_run(self, heavy_lake):
        with pytest.raises(ConfigError, match="another config"):  # refused before any write
            _generate(heavy_lake[0], "none")
        assert digest(heavy_lake[0]) == heavy_lake[1]


class TestAgainstTheCleanLake:
    def test_undoing_the_logs_gives_back_the_clean_lake(self, clean_lake, heavy_lake):
        logs = _logs(heavy_lake[0])
        assert logs.schema.names == DEFECT_SCHEMA.names
        differs = 0
        for table in TABLE_NAMES:
            dirty, clean = _read(heavy_lake[0], table), _read(clean_lake[0], table)
            differs += not dirty.equals(clean)
            assert undo_defects(dirty, logs, table).equals(clean), table
        assert differs >= 6

    def test_verify_fails_only_the_expected_checks(self, clean_lake, heavy_lake):
        """A three-day lake already misses the orders of January's returns: compare to clean."""
        cfg = load_config(QUICK)
        expected = expected_breaks(resolve_level(cfg, "heavy_mess"), spike=False)  # January
        partial = {v.check for v in check_invariants(str(clean_lake[0]), cfg)}
        failed = {v.check for v in check_invariants(str(heavy_lake[0]), cfg)} - partial
        assert failed, "a heavy lake breaks something"
        assert failed <= expected, failed - expected
        assert not partial & expected


def test_cli_generate_heavy_writes_defects(tmp_path):
    lake = tmp_path / "lake"
    code = run(["generate", "-c", str(QUICK), "-t", str(lake), "--no-progress", "--executor", "in-process",
                "--dates", "2024-01-15", "--messiness-level", "heavy_mess"])  # fmt: skip
    assert code == 0
    part = lake / "_defects" / "ingest_dt=2024-01-15"
    assert (part / "_SUCCESS").exists()
    counts = json.loads((part / "_DEFECT_COUNTS.json").read_text())["counts"]
    assert counts["orders"]["sales_spike"] > 0  # January is the seed's spike month
    log = pq.read_table(part)
    assert set(pc.unique(log["table_name"]).to_pylist()) <= set(TABLE_NAMES)


def test_run_generator_heavy_writes_the_same_defects(tmp_path, heavy_lake):
    options = RawRunOptions(artifact_root=str(tmp_path), messiness_level="Heavy_Mess",
                            start_date=START, end_date=END)  # fmt: skip
    result = run_generator(load_config(QUICK), options)
    convert = pa_csv.ConvertOptions(column_types=DEFECT_SCHEMA, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False)  # fmt: skip
    csv_log = pa_csv.read_csv(result.run_dir / "_defects.csv", convert_options=convert)
    assert _rows(csv_log) == _rows(_logs(heavy_lake[0]))


def _rows(table: pa.Table) -> list[tuple]:
    columns = [table[c].to_pylist() for c in DEFECT_SCHEMA.names]
    return sorted(zip(*columns, strict=True), key=str)
