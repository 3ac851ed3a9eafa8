"""Post-export hooks: loaded before work, called once per committed partition, failures stop."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import hook_fixtures
import pytest

from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import OptionError
from ecomlake.run.driver import GenerateOptions
from ecomlake.run.hooks import ExportContext, HookFailed, load_hooks

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
DAYS = (dt.date(2024, 1, 9), dt.date(2024, 1, 10))


def _options(target: Path, *hooks: str) -> GenerateOptions:
    return GenerateOptions(target=str(target), executor="in-process", dates=DAYS, hooks=hooks)


def test_hook_called_once_per_committed_partition(tmp_path):
    hook_fixtures.CALLS.clear()
    result = generate(load_config(QUICK), _options(tmp_path / "lake", "hook_fixtures:record"))
    assert result.ok
    calls: list[ExportContext] = hook_fixtures.CALLS
    on_disk = sorted(
        str(p.parent.relative_to(tmp_path / "lake")) for p in (tmp_path / "lake").rglob("_SUCCESS")
    )
    assert sorted(c.rel_dir for c in calls) == on_disk
    assert {"customers", "product_catalog", "orders"} <= {c.table for c in calls}
    for context in calls:
        assert context.partition_dir == (tmp_path / "lake" / context.rel_dir).resolve()
        manifest = json.loads(context.manifest_path.read_text())
        assert manifest["total_rows"] == context.manifest.total_rows
        assert (context.partition_dir / "_SUCCESS").exists()


@pytest.mark.slow  # a CLI run and a verify
def test_older_tools_hook_writes_next_to_the_partition(tmp_path, capsys):
    """Its hook joins `partition_dir / "hook_summary.txt"`: an absolute Path on a local lake.
    verify names the file (pandas and pyarrow would read it as Parquet and fail) and how to
    keep it, and sends to no repair: the file is the hook's, no run removes it."""
    lake = tmp_path / "lake"
    code = run(["generate", "-c", str(QUICK), "-t", str(lake), "--executor", "in-process",
                "--no-progress", "--dates", "2024-01-09",
                "--post-export-hook", "hook_fixtures:summary"])  # fmt: skip
    assert code == 0
    committed = sorted(p.parent for p in lake.rglob("_SUCCESS"))
    assert committed == sorted(p.parent for p in lake.rglob("hook_summary.txt"))
    rows = json.loads((committed[0] / "_MANIFEST.json").read_text())["total_rows"]
    assert (committed[0] / "hook_summary.txt").read_text().endswith(f" {rows} rows\n")
    capsys.readouterr()
    assert run(["verify", str(lake)]) == 1
    out = capsys.readouterr().out
    assert "FAIL manifests.foreign_file" in out and "hook_summary.txt" in out
    assert "starting with '_'" in out and "\nrepair: " not in out
    for summary in lake.rglob("hook_summary.txt"):
        summary.rename(summary.with_name("_hook_summary.txt"))
    assert run(["verify", str(lake)]) == 0
    import pandas as pd

    assert len(pd.read_parquet(lake / "orders")) == sum(
        json.loads((p / "_MANIFEST.json").read_text())["total_rows"]
        for p in (lake / "orders").iterdir()
    )


def test_rerun_calls_hooks_only_for_newly_committed_partitions(tmp_path):
    generate(load_config(QUICK), _options(tmp_path / "lake"))
    hook_fixtures.CALLS.clear()
    assert generate(load_config(QUICK), _options(tmp_path / "lake", "hook_fixtures:record")).ok
    assert hook_fixtures.CALLS == []


def test_failing_hook_stops_the_run_naming_hook_and_partition(tmp_path, capsys):
    with pytest.raises(
        HookFailed,
        match=r"hook_fixtures:explode failed on orders/ingest_dt=2024-01-0\d: RuntimeError: boom",
    ):
        generate(load_config(QUICK), _options(tmp_path / "lake", "hook_fixtures:explode"))
    code = run(["generate", "-c", str(QUICK), "-t", str(tmp_path / "cli"), "--executor",
                "in-process", "--no-progress", "--dates", "2024-01-09",
                "--post-export-hook", "hook_fixtures:explode"])  # fmt: skip
    assert code == 3
    assert "post-export hook hook_fixtures:explode failed on orders/" in capsys.readouterr().err
    assert not (tmp_path / "cli" / "_lock.json").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "must look like module:function"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ("hook_fixtures:missing", "is not a callable"),
        ("hook_fixtures:NOT_CALLABLE", "is not a callable"),
        # it failed after the first partition had committed
        ("hook_fixtures:no_context", "must take one argument"),
        ("hook_fixtures:two_contexts", "must take one argument"),
    ],
)
def test_bad_hook_spec_is_rejected_before_any_work(capsys, tmp_path, spec, message):
    with pytest.raises(OptionError, match=f"^GenerateOptions.hooks: .*{message}"):
        load_hooks([spec], "GenerateOptions", "hooks")
    code = run(["generate", "-c", str(QUICK), "-t", str(tmp_path / "lake"), "--no-progress",
                "--post-export-hook", spec])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.startswith("error: --post-export-hook: ")
    assert not (tmp_path / "lake").exists()


def test_example_qa_hook_writes_a_summary(tmp_path):
    target = tmp_path / "lake"
    result = generate(load_config(QUICK), _options(target, "ecomlake.hooks.qa_summary:summarize"))
    assert result.ok
    summary = json.loads((target / "_qa" / "orders" / "ingest_dt=2024-01-10.json").read_text())
    assert summary["rows_match"] and summary["rows"] > 0
    assert summary["min_event_dt"] == "2024-01-10"
