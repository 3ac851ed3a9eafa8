"""`verify` against the plan: partial lakes pass when clean, with their references outside the
lake counted; a missing, extra or miscounted partition fails; no config says what it skipped."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import ecomlake
from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.errors import ConfigError
from ecomlake.lake import resolve_target
from ecomlake.lake.identity import CONFIG_FILE, read_identity
from ecomlake.plan import memory
from ecomlake.plan.calendar import US_PER_DAY, day_number
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify import Violation, expected
from ecomlake.verify.expected import check_expected, outside_ranges, plan_lake
from ecomlake.verify.report import DEEP_HINT, verify_lake

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "gen_config" / "quick.yaml"
PINNED = {"batch_id": "test", "ingestion_ts": "2024-04-01T00:00:00+00:00"}
FEB = {"start_date": dt.date(2024, 2, 1), "days": 10}
# The other ways of choosing days, and a messy lake whose 2024-03-20 orders all arrive late.
PARTIAL = {
    "last_days": {"days": 4},
    "dates_with_gaps": {"dates": (dt.date(2024, 1, 5), dt.date(2024, 2, 10), dt.date(2024, 3, 20))},
    "messy": {"start_date": dt.date(2024, 3, 18), "days": 5, "messiness_level": "heavy_mess"},
}


def _generate(root: Path, **fields) -> Path:
    options = GenerateOptions(target=str(root), executor="in-process", **PINNED, **fields)
    assert generate(str(QUICK), options).ok
    return root


@pytest.fixture(scope="module")
def messy_lake(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("messy") / "lake", **PARTIAL["messy"])


@pytest.fixture(scope="module", params=list(PARTIAL))
def partial_lake(request, tmp_path_factory) -> tuple[str, Path]:
    if request.param == "messy":
        return request.param, request.getfixturevalue("messy_lake")
    root = tmp_path_factory.mktemp(request.param) / "lake"
    return request.param, _generate(root, **PARTIAL[request.param])


@pytest.fixture(scope="module")
def feb_lake(tmp_path_factory) -> Path:
    """Feb 1-10 of the quick world: its returns point at January orders."""
    return _generate(tmp_path_factory.mktemp("feb") / "lake", **FEB)


@pytest.fixture
def feb_copy(feb_lake, tmp_path) -> Path:
    return Path(shutil.copytree(feb_lake, tmp_path / "lake"))


def _failed(root: Path) -> set[str]:
    return {v.check for v in verify_lake(str(root)).violations}


def _against_plan(root: Path) -> list[Violation]:
    """Only the checks against the plan (sub-second, no DuckDB)."""
    loc = resolve_target(str(root))
    planned, why = plan_lake(loc, read_identity(loc), None)
    assert planned is not None, why
    return check_expected(loc, planned)


def test_partial_lake_verifies_and_counts_references_outside(partial_lake):
    name, root = partial_lake
    report = verify_lake(str(root))
    assert report.ok, report.to_text()
    assert report.planned and not report.skipped
    assert report.outside and all(v.count > 0 for v in report.outside)
    text = report.to_text()
    assert "expected partitions: ok" in text and "references outside this lake:" in text
    if name == "messy":
        assert not (root / "orders" / "ingest_dt=2024-03-20").exists()  # every row came late


def test_lake_starting_mid_world_verifies_with_the_plans_outside_counts(feb_lake):
    """Feb 1-10 passes; its returns of January orders are counted as the plan counts them."""
    loc = resolve_target(str(feb_lake))
    planned, _ = plan_lake(loc, read_identity(loc), None)
    world = planned.world
    first, last = day_number(FEB["start_date"]), day_number(FEB["start_date"]) + 9
    rets = np.arange(world.returns_on(first).start, world.returns_on(last).stop)
    order_day = world.carts.ts_us[world.orders.cart[world.returns.order[rets]]] // US_PER_DAY
    before = int((order_day < first).sum())
    report = verify_lake(str(feb_lake))
    assert report.ok, report.to_text()
    assert "references outside this lake:" in report.to_text()
    found = {v.check: v for v in report.outside}
    assert before > 0
    assert found["outside.returns.order_id"].count == before
    assert "2024-01-01..2024-01-31" in found["outside.returns.order_id"].detail
    ranges = outside_ranges(planned).to_pylist()
    assert {r["parent"] for r in ranges} == {"shopping_carts", "orders", "returns"}
    orders = next(r for r in ranges if r["parent"] == "orders" and r["first_seq"] == 1)
    assert orders["last_seq"] == world.orders_on(first).start  # ORD-n is position n - 1


def test_deleted_day_fails(feb_copy, capsys):
    for folder in feb_copy.glob("*/ingest_dt=2024-02-05"):
        shutil.rmtree(folder)
    assert run(["verify", str(feb_copy)]) == 1
    out = capsys.readouterr().out
    assert "FAIL expected.missing_partition" in out and "orders/ingest_dt=2024-02-05" in out


def test_deleted_last_returns_partition_fails(feb_copy):
    last = sorted((feb_copy / "returns").iterdir())[-1]
    shutil.rmtree(last)
    (found,) = _against_plan(feb_copy)
    assert found.check == "expected.missing_partition" and f"returns/{last.name}" in found.detail


def test_reference_to_a_missing_row_inside_the_lake_still_fails(feb_copy):
    """A return whose order the plan dates inside the lake, with that order's day gone."""
    returns = pq.read_table(next((feb_copy / "returns").glob("ingest_dt=2024-02-1*/*.parquet")))
    order_ids = set(returns.column("order_id").to_pylist())
    victim = next(
        p for p in sorted((feb_copy / "orders").iterdir())
        if order_ids & set(pq.read_table(p / "part-00000.parquet").column("order_id").to_pylist())
    )  # fmt: skip
    shutil.rmtree(victim)
    failed = _failed(feb_copy)
    assert {"expected.missing_partition", "fk.returns.order_id"} <= failed


def test_fewer_rows_with_a_consistent_manifest_is_found_only_by_the_plan(feb_copy):
    """Drop an emptied cart (no items, no order) and rewrite file and manifest to match."""
    folder = feb_copy / "shopping_carts" / "ingest_dt=2024-02-03"
    part = folder / "part-00000.parquet"
    data = pq.read_table(part)
    emptied = pc.equal(data.column("status"), "emptied").to_numpy(zero_copy_only=False)
    drop = int(np.flatnonzero(emptied)[0])
    pq.write_table(data.take([i for i in range(data.num_rows) if i != drop]), part)
    manifest = json.loads((folder / "_MANIFEST.json").read_text())
    checksum = hashlib.sha256(part.read_bytes()).hexdigest()
    manifest["files"][0].update(rows=data.num_rows - 1, checksum=checksum, size=part.stat().st_size)
    manifest.update(total_rows=data.num_rows - 1, checksums=[checksum])
    (folder / "_MANIFEST.json").write_text(json.dumps(manifest))
    report = verify_lake(str(feb_copy))
    assert {v.check for v in report.violations} == {"expected.row_count"}, report.to_text()
    assert f"({data.num_rows - 1} rows, planned {data.num_rows})" in report.to_text()


def test_extra_partition_fails(feb_copy):
    source = sorted((feb_copy / "returns").iterdir())[0]
    shutil.copytree(source, feb_copy / "returns" / "ingest_dt=2024-03-06")
    (found,) = _against_plan(feb_copy)
    assert found.check == "expected.unexpected_partition"
    assert "returns/ingest_dt=2024-03-06" in found.detail


def test_without_a_config_the_plan_checks_are_skipped_and_said_so(feb_copy, capsys):
    (feb_copy / CONFIG_FILE).unlink()
    run(["verify", str(feb_copy)])
    out = capsys.readouterr().out
    assert "skipped: expected partitions and references outside this lake: no config" in out
    assert "expected partitions:" not in out


def test_a_plan_too_big_for_this_machine_is_skipped_not_built(feb_copy, monkeypatch):
    """verify builds the plan in one piece: a world it cannot hold has its plan checks skipped
    and said why, instead of running out of memory."""
    monkeypatch.setattr(memory, "physical_memory", lambda: 100_000)  # under 2,000 × 350 bytes
    monkeypatch.setattr(expected, "load_or_build_world", lambda *_: pytest.fail("planned"))
    report = verify_lake(str(feb_copy))
    (skipped,) = report.skipped
    assert skipped.startswith("expected partitions and references outside this lake: 2,000 ")
    assert "its plan, built in this process, would take about" in skipped
    assert not report.planned and not report.partition_violations


def test_without_run_records_the_lake_fails_and_its_partitions_days_are_checked(feb_copy):
    """Deleting `_runs/` cannot hide a deleted day: the lake fails for the records, and the
    days its partitions are for are still checked against the plan."""
    shutil.rmtree(feb_copy / "_runs")
    for table in ("shopping_carts", "orders"):
        shutil.rmtree(feb_copy / table / "ingest_dt=2024-02-05")
    report = verify_lake(str(feb_copy))
    failed = {v.check: v for v in report.violations}
    assert "lake.run_records_missing" in failed
    assert "re-run the generate command" in failed["lake.run_records_missing"].detail
    assert "expected.missing_partition" in failed  # the day's other tables are still there
    assert report.planned and not report.skipped


def test_without_the_lake_file_the_lake_fails_and_a_rerun_restores_it(feb_copy):
    (feb_copy / "_lake.json").unlink()
    assert "lake.identity_missing" in _failed(feb_copy)
    _generate(feb_copy, **FEB)
    assert verify_lake(str(feb_copy)).ok


def test_without_the_stored_config_the_lake_fails_and_a_rerun_restores_it(feb_copy):
    """Deleting `_config.yaml` used to pass: the plan checks were skipped as for a lake that
    never had one (an older or exported lake), with every partition unchecked."""
    (feb_copy / CONFIG_FILE).unlink()
    report = verify_lake(str(feb_copy))
    assert "lake.config_missing" in {v.check for v in report.violations}
    assert not report.planned and report.rerun_needed
    _generate(feb_copy, **FEB)
    assert verify_lake(str(feb_copy)).ok


def test_another_config_is_a_one_line_error(feb_lake, capsys):
    code = run(["verify", str(feb_lake), "--config", str(REPO / "gen_config" / "template.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: --config: not the config this lake was made with"), err


def test_an_edited_stored_config_is_a_one_line_error(feb_copy, capsys):
    stored = feb_copy / CONFIG_FILE
    stored.write_text(stored.read_text().replace("faker_seed: 42", "faker_seed: 43"))
    assert run(["verify", str(feb_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and CONFIG_FILE in err, err


def _edit_run(root: Path, change) -> None:
    path = root / "_runs" / "test.json"
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body))


def test_a_failed_day_counts_as_the_lakes_and_its_partitions_are_missing(feb_copy):
    def fail_feb_4(body):
        body["days"] = [d for d in body["days"] if d["day"] != "2024-02-04"]
        body["failures"] = [{"day": "2024-02-04", "error": "StorageError: timed out"}]

    _edit_run(feb_copy, fail_feb_4)
    for folder in feb_copy.glob("*/ingest_dt=2024-02-04"):
        shutil.rmtree(folder)
    (found,) = _against_plan(feb_copy)
    assert found.check == "expected.missing_partition" and "ingest_dt=2024-02-04" in found.detail


def test_a_day_no_run_recorded_is_unexpected(feb_copy):
    """A run killed before its run manifest: its partitions are on disk, its days nowhere."""
    _edit_run(feb_copy, lambda body: body.update(days=body["days"][:-1]))
    (found,) = _against_plan(feb_copy)
    assert found.check == "expected.unexpected_partition" and "ingest_dt=2024-02-10" in found.detail


def test_what_only_a_rerun_fixes_is_told_so_not_sent_to_repair(feb_copy, capsys):
    """`--repair` writes what run records list: it cannot record a killed run's days."""
    _edit_run(feb_copy, lambda body: body.update(days=body["days"][:-1]))
    assert run(["verify", str(feb_copy)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("re-run: the generate command that made the lake"), last
    assert run(["verify", str(feb_copy), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rerun_needed"] is True and report["repair_command"] is None
    _generate(feb_copy, **FEB)  # the re-run records the day again
    assert verify_lake(str(feb_copy)).ok


@pytest.mark.parametrize("damage", ["garbage", "fifo"])
def test_an_unreadable_run_record_fails_and_is_named(feb_copy, damage, caplog):
    record = feb_copy / "_runs" / "test.json"
    if damage == "garbage":
        record.write_text("{not json")
    else:
        record.unlink()
        os.mkfifo(record)
    report = verify_lake(str(feb_copy))
    warned = [r for r in caplog.records if "skipping unreadable run record" in r.getMessage()]
    assert len(warned) == 1  # verify reads the records three times: it was said three times
    failed = {v.check: v for v in report.violations}
    assert "_runs/test.json" in failed["lake.run_record_unreadable"].detail
    assert "lake.run_records_missing" in failed
    assert "repair:" not in report.to_text()  # a repair cannot know what the record said


def test_a_messy_lake_s_deleted_partition_is_missing(messy_lake, tmp_path):
    """Late rows may leave a messy day without a partition, but only when all of them do."""
    root = Path(shutil.copytree(messy_lake, tmp_path / "lake"))
    shutil.rmtree(root / "orders" / "ingest_dt=2024-03-19")
    (found,) = _against_plan(root)
    assert found.check == "expected.missing_partition"
    assert "orders/ingest_dt=2024-03-19" in found.detail


def _rewrite_consistently(folder: Path, change) -> None:
    """Change a part file's rows, then its manifest to match: every listing, checksum, row
    count and plan check passes."""
    part = folder / "part-00000.parquet"
    pq.write_table(change(pq.read_table(part)), part)
    data = part.read_bytes()
    manifest = json.loads((folder / "_MANIFEST.json").read_text())
    checksum = hashlib.sha256(data).hexdigest()
    manifest["files"][0].update(checksum=checksum, size=len(data))
    manifest["checksums"] = [checksum]
    (folder / "_MANIFEST.json").write_text(json.dumps(manifest))


def _shout_first_names(rows):
    at = rows.column_names.index("first_name")
    return rows.set_column(at, "first_name", pc.utf8_upper(rows.column("first_name")))


def test_deep_finds_a_consistent_edit_that_every_other_check_passes(feb_copy, capsys):
    command = f"ecomlake generate --target {feb_copy} --repair"
    folder = feb_copy / "customers" / "signup_dt=2024-01-20"
    _rewrite_consistently(folder, _shout_first_names)
    assert verify_lake(str(feb_copy)).ok  # the edit is consistent: nothing else can tell
    report = ecomlake.verify(feb_copy, deep=True)
    (found,) = report.violations
    assert found.check == "deep.differs" and "customers/signup_dt=2024-01-20" in found.detail
    assert "rendered again: 1 problem(s)" in report.to_text()
    last = report.to_text().splitlines()[-1]  # the repair alone would find nothing damaged
    assert last == f"repair: delete the folders of the partitions that differ, then: {command}"
    shutil.rmtree(folder)  # what the report says to do
    assert run(["generate", "--target", str(feb_copy), "--repair"]) == 0
    assert run(["verify", str(feb_copy), "--deep"]) == 0
    assert "rendered again: ok (" in capsys.readouterr().out


def test_deep_takes_the_lineage_of_an_unrecorded_rewrite_from_its_manifests(feb_copy):
    """A killed --overwrite leaves partitions of a batch with no run record, in days an earlier
    run recorded: they are the generator's own bytes and must compare with its lineage, not
    the earlier record's (which made every one of them "differ" for good)."""
    options = GenerateOptions(
        target=str(feb_copy),
        executor="in-process",
        batch_id="rewrite",
        ingestion_ts="2024-05-01T00:00:00+00:00",
        overwrite=True,
        start_date=dt.date(2024, 2, 1),
        days=2,
    )
    assert generate(str(QUICK), options).ok
    (feb_copy / "_runs" / "rewrite.json").unlink()  # what SIGKILL leaves: no record of it
    report = ecomlake.verify(feb_copy, deep=True)
    assert report.ok, report.to_text()
    assert "rendered again: ok (" in report.to_text()


def test_a_run_stopped_half_way_is_to_be_re_run_not_repaired(tmp_path):
    """A stopped run spread the customers of before the window over all its days; verify used
    to fail their foreign keys and send to a repair that found nothing, again and again."""
    from ecomlake.run.executors import RunProgress
    from ecomlake.run.interrupt import StopRequest

    root = tmp_path / "lake"
    stop = StopRequest()
    done: list = []

    def day_done(outcome, count) -> None:
        done.append(outcome)
        if len(done) == 5:
            stop.request("enough")

    options = GenerateOptions(target=str(root), executor="in-process", **PINNED)
    result = generate(str(QUICK), options, RunProgress(day_done=day_done), stop)
    assert result.interrupted == "enough"
    record = json.loads((root / "_runs" / f"{PINNED['batch_id']}.json").read_text())
    assert len(record["days_left"]) == 86 and record["days_left"][0] == "2024-01-06"
    # a later run of a day already written (a nightly run) does not finish the stopped one
    nightly = {**PINNED, "batch_id": "nightly", "start_date": dt.date(2024, 1, 2), "days": 1}
    nightly_options = GenerateOptions(target=str(root), executor="in-process", **nightly)
    assert generate(str(QUICK), nightly_options).ok
    report = verify_lake(str(root))
    assert "lake.run_unfinished" in {v.check for v in report.violations}
    text = report.to_text()
    assert "re-run: " in text and "\nrepair: " not in text
    assert f"{PINNED['batch_id']} stopped after 5 of its 91 day(s), and 86 of the days" in text
    assert generate(str(QUICK), options).ok  # the same command finishes the lake
    assert verify_lake(str(root)).ok


def test_a_world_without_carts_is_not_missing_its_carts_table(tmp_path):
    """`generate: 0` (or a quiet first day) writes no carts partition: the plan says so, and
    verify used to fail `tables.missing` and send to a repair that found nothing."""
    config = tmp_path / "no_carts.yaml"
    text = QUICK.read_text()
    assert "generate: 1500" in text
    config.write_text(text.replace("generate: 1500", "generate: 0"))
    root = tmp_path / "lake"
    options = GenerateOptions(target=str(root), executor="in-process", days=3, **PINNED)
    assert generate(str(config), options).ok
    assert not (root / "shopping_carts").exists()
    report = verify_lake(str(root))
    assert report.ok, report.to_text()


def test_a_pinned_batch_id_run_again_adds_its_days_to_the_record(tmp_path):
    """The nightly run of a lake backfilled under one pinned batch id replaced the backfill's
    record, and verify failed every other day as unexpected. A second run of the id must
    write as the first did (its record says how --repair rewrites them all)."""
    root = tmp_path / "lake"
    backfill = {"start_date": dt.date(2024, 1, 1), "days": 5}
    assert generate(str(QUICK), GenerateOptions(target=str(root), executor="in-process", **PINNED, **backfill)).ok  # fmt: skip
    nightly = {"start_date": dt.date(2024, 1, 6), "days": 1}
    assert generate(str(QUICK), GenerateOptions(target=str(root), executor="in-process", **PINNED, **nightly)).ok  # fmt: skip
    record = json.loads((root / "_runs" / f"{PINNED['batch_id']}.json").read_text())
    assert [d["day"] for d in record["days"]] == [f"2024-01-0{i}" for i in range(1, 7)]
    assert record["days_planned"] == 6 and record["ok"]
    report = verify_lake(str(root))
    assert report.ok, report.to_text()
    other_ts = {**PINNED, "ingestion_ts": "2024-05-01T00:00:00+00:00"}
    later = GenerateOptions(target=str(root), executor="in-process", **other_ts, start_date=dt.date(2024, 1, 7), days=1)  # fmt: skip
    with pytest.raises(ConfigError, match="its ingestion_ts was 2024-04-01T00:00:00"):
        generate(str(QUICK), later)
    assert not (root / "shopping_carts" / "ingest_dt=2024-01-07").exists()


def test_a_rule_broken_in_partitions_that_match_their_manifests_points_to_deep(feb_copy):
    """Only invariants fail (orders' net totals edited along with their manifest): the repair
    line sent users to a repair that found 0 damaged partitions."""

    def double_net_totals(rows):
        at = rows.column_names.index("net_total")
        doubled = pc.multiply(rows.column("net_total"), 2).cast(rows.schema.field(at).type)
        return rows.set_column(at, "net_total", doubled)

    folder = next(p for p in sorted((feb_copy / "orders").iterdir()) if p.is_dir())
    _rewrite_consistently(folder, double_net_totals)
    report = verify_lake(str(feb_copy))
    assert report.invariant_violations and not report.manifest_violations
    text = report.to_text()
    assert "\nrepair: " not in text and json.loads(report.to_json())["repair_command"] is None
    assert text.splitlines()[-1] == f"deep: {DEEP_HINT}"


def test_a_run_killed_before_it_recorded_its_days_is_to_be_re_run_not_repaired(tmp_path):
    """Killed before its run record: the partitions it never wrote are missing, and verify sent
    to a repair that checked what is on storage, found nothing and exited 0, again and again
    (without records it cannot know those partitions)."""
    root = tmp_path / "lake"
    dates = (dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    options = GenerateOptions(target=str(root), executor="in-process", dates=dates, **PINNED)
    assert generate(str(QUICK), options).ok
    shutil.rmtree(root / "_runs")  # as if killed before it wrote its record
    shutil.rmtree(root / "shopping_carts" / "ingest_dt=2024-01-02")  # a day it never reached
    report = verify_lake(str(root))
    checks = {v.check for v in report.violations}
    assert {"lake.run_records_missing", "expected.missing_partition"} <= checks
    text = report.to_text()
    assert "re-run: " in text and "\nrepair: " not in text
    assert generate(str(QUICK), options).ok  # the re-run finishes the lake
    assert verify_lake(str(root)).ok
