"""`export-raw --source DIR` where DIR has no `_run.json` (the older tool's output, or CSVs put
together by hand): what the file would say is read from the CSVs, with one warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from trio_helpers import BATCH, TS, lake_hashes, one_line_error

from ecomlake.cli.app import run
from ecomlake.trio.raw_infer import INFERRED_VERSION
from ecomlake.trio.raw_run import RUN_FILE

PINNED = ["--batch-id", BATCH, "--ingestion-ts", TS, "--target-size-mb", "16"]


def _without(raw_dir: Path, tmp_path: Path, *names: str) -> Path:
    copy = Path(shutil.copytree(raw_dir, tmp_path / "run"))
    for name in names:
        (copy / name).unlink()
    return copy


def _data(lake: Path) -> dict[str, str]:
    return {k: v for k, v in lake_hashes(lake).items() if k.endswith(".parquet")}


def _warnings(capsys) -> list[str]:
    """The CLI's warning lines about the missing run file."""
    err = capsys.readouterr().err.splitlines()
    return [line for line in err if "WARNING" in line and RUN_FILE in line]


def test_same_lake_as_with_the_run_file(raw_dir, exported_lake, tmp_path, capsys):
    source = _without(raw_dir, tmp_path, RUN_FILE)
    target = tmp_path / "lake"
    assert run(["export-raw", "--source", str(source), "--target", str(target), *PINNED]) == 0
    (warning,) = _warnings(capsys)
    assert "2024-01-01..2024-01-15" in warning
    assert _data(target) == _data(exported_lake)  # manifests name the generator version
    lake = json.loads((target / "_lake.json").read_text())
    original = json.loads((exported_lake / "_lake.json").read_text())
    assert lake["config_fingerprint"] == original["config_fingerprint"]  # from its _config.yaml
    assert lake["seed"] == original["seed"]
    assert (lake["world_start"], lake["world_end"]) == ("2024-01-01", "2024-01-15")
    assert lake["generator_version"] == INFERRED_VERSION


def test_csvs_alone(raw_dir, tmp_path, capsys):
    source = _without(raw_dir, tmp_path, RUN_FILE, "_config.yaml")
    target = tmp_path / "lake"
    assert run(["export-raw", "--source", str(source), "--target", str(target), *PINNED]) == 0
    assert len(_warnings(capsys)) == 1
    lake = json.loads((target / "_lake.json").read_text())
    assert lake["seed"] == 0
    orders = sum(1 for _ in (target / "orders").rglob("*.parquet"))
    assert orders > 0
    # A second export of the same dir lands in the same lake.
    assert run(["export-raw", "--source", str(source), "--target", str(target), *PINNED]) == 0


def test_a_dir_without_csvs_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = run(["export-raw", "--source", str(tmp_path / "empty"), "--target", str(tmp_path / "l")])
    assert code == 2
    assert "no table CSVs" in one_line_error(capsys)
