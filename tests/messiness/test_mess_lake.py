"""Messy lakes end to end: clean levels unchanged, P1 with mess on, resume, CLI, verify, trio."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from mess_helpers import PINNED, QUICK, WORLD_END, WORLD_START, digest, first_difference

from ecomlake.api import generate
from ecomlake.cli.app import run
from ecomlake.config import load_config
from ecomlake.errors import ConfigError
from ecomlake.lineage import LINEAGE_COLUMNS
from ecomlake.messiness import DEFECT_SCHEMA, expected_breaks, resolve_level, undo_defects
from ecomlake.messiness.log import pk_text
from ecomlake.render.registry import TABLE_NAMES, table_spec
from ecomlake.run.driver import GenerateOptions
from ecomlake.trio.raw_export import ExportOptions, export_raw
from ecomlake.trio.raw_run import RawRunOptions, run_generator
from ecomlake.verify.defects import late_rows_cut_off
from ecomlake.verify.manifests import check_manifests
from ecomlake.verify.report import verify_lake

START, END = dt.date(2024, 2, 1), dt.date(2024, 2, 3)
# The 2024-02-01..03 quick lake at level none: 968 files. Pinned before messiness existed and
# re-pinned since: when keys, event_id, timestamps and floats stopped being dictionary encoded
# (lake/parquet.py), and when the lake gained `_config.yaml` and manifests gained each file's
# size and the writer options (lake/manifest.py; Parquet bytes unchanged), and when money became
# decimal(12,2), ingestion_ts a UTC timestamp and the dimension partitions signup_dt= and
# category_key= (render/schemas.py, lineage.py), and when contact text (emails, phones,
# addresses) stopped being dictionary encoded (lake/parquet.py). The messiness code has no say
# in it.
GOLDEN_FILES = 968
GOLDEN_DIGEST = "6c35ef8a56686cdecc1d14b59fdc0200e823e9832df29e389f3aefc2e570fec7"


def _generate(target: Path, level: str, **overrides) -> dict[str, str]:
    fields = {"start_date": START, "end_date": END, "executor": "in-process", **PINNED}
    fields.update(overrides)
    result = generate(QUICK, GenerateOptions(target=str(target), messiness_level=level, **fields))
    assert result.ok, result.failures
    return digest(target)


def _combined(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _read(root: Path, table: str, partition: str = "*") -> pa.Table:
    """A table's rows across its partitions (or one), lineage dropped, in a stable order."""
    files = sorted((root / table).glob(f"{partition}/*.parquet"))
    data = pa.concat_tables([pq.read_table(p) for p in files])
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
        assert any(name.startswith("_defects_customers/signup_dt=") for name in files)
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

    def test_a_re_run_of_a_whole_messy_lake_writes_nothing(self, tmp_path, heavy_lake):
        """A day without returns has no returns partition to find committed, so it rendered
        again and rewrote its committed defect log, under the new run's batch id."""
        root = Path(shutil.copytree(heavy_lake[0], tmp_path / "lake"))
        tables = [p for p in root.rglob("*") if p.is_file() and "_runs" not in p.parts]
        before = {p: p.stat().st_mtime_ns for p in tables if p.name not in ("_lake.json",
                                                                         "_config.yaml")}  # fmt: skip
        options = GenerateOptions(target=str(root), messiness_level="heavy_mess",
                                  start_date=START, end_date=END, executor="in-process")  # fmt: skip
        result = generate(QUICK, options)  # another batch id and ingestion time
        assert result.ok and sum(r.partitions for r in result.results) == 0
        assert result.total_rows == 0
        assert {p: p.stat().st_mtime_ns for p in before} == before
        assert digest(root) == heavy_lake[1]

    def test_a_lost_defect_log_fails_verify_and_a_re_run_writes_it_again(
        self, tmp_path, heavy_lake
    ):
        """Only the logs gone, every data partition whole: plain verify passed, and a re-run
        kept the data and left most logs missing."""
        root = Path(shutil.copytree(heavy_lake[0], tmp_path / "lake"))
        for log in root.glob("_defects*"):
            shutil.rmtree(log)
        report = verify_lake(str(root))
        assert "manifests.defect_log_missing" in {v.check for v in report.violations}
        again = _generate(root, "heavy_mess")
        assert again == heavy_lake[1], first_difference(again, heavy_lake[1])

    def test_an_edited_level_in_lake_json_is_not_blamed_on_the_config(self, tmp_path, heavy_lake):
        root = Path(shutil.copytree(heavy_lake[0], tmp_path / "lake"))
        identity = json.loads((root / "_lake.json").read_text())
        identity["messiness"]["name"] = "light_mess"
        (root / "_lake.json").write_text(json.dumps(identity))
        with pytest.raises(ConfigError, match=r"and the messiness entry of .*_lake.json do not"):
            verify_lake(str(root))

    def test_messy_lake_refuses_a_clean_run(self, heavy_lake):
        with pytest.raises(
            ConfigError,
            match="holds a heavy_mess lake and this run is none: pass messiness_level heavy_mess",
        ):  # refused before any write
            _generate(heavy_lake[0], "none")
        assert digest(heavy_lake[0]) == heavy_lake[1]


@pytest.fixture(scope="module")
def world_lakes(tmp_path_factory, ray_session) -> tuple[Path, Path]:
    """The whole quick world (91 days) clean and at heavy_mess: every late row lands inside.
    Written on the session's two Ray workers (the bytes equal an in-process run's, see
    TestDeterminism), which halves the module's longest setup."""
    root = tmp_path_factory.mktemp("world")
    for level in ("none", "heavy_mess"):
        window = {"start_date": WORLD_START, "end_date": WORLD_END}
        _generate(root / level, level, executor="ray", workers=2, **window)
    return root / "none", root / "heavy_mess"


def _by_partition(root: Path, table: str) -> dict[str, pa.Table]:
    return {p.name: _read(root, table, p.name) for p in sorted((root / table).glob("*=*"))}


class TestAgainstTheCleanLake:
    def test_undoing_the_logs_gives_back_the_clean_lake(self, world_lakes):
        """Dimensions byte for byte; transactional partitions row for row once late rows are
        home (a late row lands at the end of a later partition)."""
        clean_root, heavy_root = world_lakes
        logs = _logs(heavy_root)
        assert logs.schema.names == DEFECT_SCHEMA.names
        kinds = set(pc.unique(logs["defect_type"]).to_pylist())
        assert {"duplicate", "near_duplicate", "late_arrival", "typo", "orphan_fk"} <= kinds
        for table in TABLE_NAMES:
            clean = _by_partition(clean_root, table)
            dirty = _by_partition(heavy_root, table)
            assert dirty != clean, table
            if table in ("customers", "product_catalog"):
                for name, part in dirty.items():
                    undone = undo_defects(part, _in(logs, name), table)
                    assert undone.equals(clean[name]), (table, name)
                continue
            undone = _undo_with_homes(table, dirty, logs)
            assert set(undone) == set(clean), table
            for name, rows in undone.items():
                assert _sorted(rows, table).equals(_sorted(clean[name], table)), (table, name)

    def test_verify_expects_the_level_s_breaks_and_undoes_the_log(self, world_lakes):
        clean_root, heavy_root = world_lakes
        cfg = load_config(QUICK)
        clean = verify_lake(str(clean_root), cfg, against_defects=False)
        assert clean.ok and not clean.expected and clean.level is None
        heavy = verify_lake(str(heavy_root), cfg, against_defects=True)
        assert heavy.ok, heavy.to_text()
        assert heavy.level == "heavy_mess"
        found = {v.check for v in heavy.expected}
        allowed = expected_breaks(resolve_level(cfg, "heavy_mess"))
        assert found <= allowed and len(found) > 30
        assert heavy.defects is not None and heavy.defects.matched > 700
        assert not heavy.defects.unchecked
        assert not late_rows_cut_off(str(heavy_root))  # every late row landed inside

    def test_a_lake_inside_the_world_misses_late_rows(self, heavy_lake):
        """Feb 1-3: rows of January land in it, rows of Feb 3 land after it."""
        assert late_rows_cut_off(str(heavy_lake[0]))
        level = resolve_level(load_config(QUICK), "heavy_mess")
        assert "fk.order_items.order_id" in expected_breaks(level, late_cut_off=True)
        assert "fk.order_items.order_id" not in expected_breaks(level)

    def test_an_unlogged_change_fails_against_defects_and_invariants(self, world_lakes, tmp_path):
        root = Path(shutil.copytree(world_lakes[1], tmp_path / "lake"))
        part = next((root / "orders" / "ingest_dt=2024-02-10").glob("*.parquet"))
        data = pq.read_table(part)
        kind = data.schema.field("net_total").type
        net = pc.add(data["net_total"], pa.scalar(Decimal("1.00"), kind)).cast(kind)
        pq.write_table(data.set_column(data.schema.get_field_index("net_total"), "net_total", net),
                       part)  # fmt: skip
        report = verify_lake(str(root), load_config(QUICK), against_defects=True)
        failed = {v.check for v in report.violations}
        assert "defects.clean_mismatch" in failed
        assert "order_financials.net_total" in failed  # not a heavy_mess break
        assert failed & {"manifests.checksum", "manifests.size"}  # re-encoded: size may differ

    @pytest.mark.parametrize("tamper", ["drop_copies", "clean_a_cell"])
    def test_a_log_that_claims_defects_the_data_lacks_fails(self, world_lakes, tmp_path, tamper):
        """Logged copies removed, or a dirtied cell set back to clean, with the manifest made to
        match: undoing the log still gave the clean rows, and --against-defects passed."""
        root = Path(shutil.copytree(world_lakes[1], tmp_path / "lake"))
        logs = _logs(root)
        kind = "duplicate" if tamper == "drop_copies" else "whitespace"
        entry = logs.filter(
            pc.and_(pc.equal(logs["defect_type"], kind), pc.equal(logs["table_name"], "cart_items"))
        ).slice(0, 1)
        folder = root / "cart_items" / entry["partition"][0].as_py()
        part = folder / "part-00000.parquet"
        data = pq.read_table(part)
        keys = pk_text(data, table_spec("cart_items").pk).to_pylist()
        if tamper == "drop_copies":
            keep = [i == 0 or keys[i] != keys[i - 1] for i in range(len(keys))]
            data = data.filter(pa.array(keep))
        else:
            column = entry["column_name"][0].as_py()
            at = keys.index(entry["pk_value"][0].as_py())
            values = data[column].to_pylist()
            values[at] = entry["clean_value"][0].as_py()
            at_col = data.schema.get_field_index(column)
            data = data.set_column(at_col, column, pa.array(values, data.schema.field(column).type))
        pq.write_table(data, part, compression="zstd")
        manifest = json.loads((folder / "_MANIFEST.json").read_text())
        body = part.read_bytes()
        checksum = hashlib.sha256(body).hexdigest()
        manifest["files"][0].update(checksum=checksum, size=len(body), rows=data.num_rows)
        manifest.update(checksums=[checksum], total_rows=data.num_rows)
        (folder / "_MANIFEST.json").write_text(json.dumps(manifest))
        report = verify_lake(str(root), load_config(QUICK), against_defects=True)
        assert "defects.undo_failed" in {v.check for v in report.violations}, report.to_text()

    def test_against_defects_on_a_clean_lake_is_a_one_line_error(self, world_lakes, capsys):
        code = run(["verify", str(world_lakes[0]), "--against-defects"])
        assert code == 2
        assert "--against-defects" in capsys.readouterr().err

    def test_manifests_carry_defect_counts(self, world_lakes):
        root = world_lakes[1]
        logs = _logs(root)
        checked = 0
        for manifest_path in sorted(root.glob("orders/*/_MANIFEST.json")):
            manifest = json.loads(manifest_path.read_text())
            mine = logs.filter(
                pc.and_(pc.equal(logs["table_name"], "orders"),
                        pc.equal(logs["partition"], manifest["partition"]))
            )  # fmt: skip
            kinds = [k for t in mine["defect_type"].to_pylist() for k in t.split("+")]
            want = {k: kinds.count(k) for k in set(kinds)}
            assert manifest["messiness"]["defects"] == want, manifest["partition"]
            checked += bool(want)
        assert checked > 60


def _undo_with_homes(table: str, parts: dict[str, pa.Table], logs: pa.Table) -> dict:
    """Undo a transactional table's partitions and put late rows back in their own day's."""
    spec = table_spec(table)
    undone = {name: undo_defects(part, _in(logs, name), table) for name, part in parts.items()}
    mine = logs.filter(pc.and_(pc.equal(logs["table_name"], table),
                               pc.equal(logs["defect_type"], "late_arrival")))  # fmt: skip
    home = dict(zip(mine["pk_value"].to_pylist(), mine["clean_value"].to_pylist(), strict=True))
    out: dict[str, list[pa.Table]] = {}
    for part in undone.values():
        keys = np.array(pk_text(part, spec.pk).to_pylist(), dtype=object)
        days = np.array([home.get(k) for k in keys], dtype=object)
        for name in {f"ingest_dt={d}" for d in days if d is not None}:
            out.setdefault(name, []).append(part.filter(pa.array(days == name.split("=")[1])))
        stays = pa.array([d is None for d in days], pa.bool_())
        own = next(n for n, p in undone.items() if p is part)
        out.setdefault(own, []).append(part.filter(stays))
    joined = {name: pa.concat_tables(tables) for name, tables in out.items()}
    return {name: rows for name, rows in joined.items() if rows.num_rows}  # all rows left late


def _in(logs: pa.Table, partition: str) -> pa.Table:
    return logs.filter(pc.equal(logs["partition"], partition))


def _sorted(data: pa.Table, table: str) -> pa.Table:
    return data.sort_by([(c, "ascending") for c in table_spec(table).pk])


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


def test_run_generator_heavy_writes_the_same_defects(tmp_path, world_lakes):
    """The same cells and copies; late arrival is a lake-partition defect (CSVs have none)."""
    options = RawRunOptions(artifact_root=str(tmp_path), messiness_level="Heavy_Mess",
                            start_date=WORLD_START, end_date=WORLD_END)  # fmt: skip
    result = run_generator(load_config(QUICK), options)
    convert = pa_csv.ConvertOptions(column_types=DEFECT_SCHEMA, strings_can_be_null=True,
                                    quoted_strings_can_be_null=False)  # fmt: skip
    csv_log = pa_csv.read_csv(result.run_dir / "_defects.csv", convert_options=convert)
    lake_log = _logs(world_lakes[1])
    lake_log = lake_log.filter(pc.not_equal(lake_log["defect_type"], "late_arrival"))
    drift = csv_log.filter(pc.equal(csv_log["defect_type"], "format_drift"))
    assert drift.num_rows > 500
    both = pa.concat_tables([lake_log, drift.cast(lake_log.schema)])
    assert _rows(csv_log.drop_columns(["partition"])) == _rows(both.drop_columns(["partition"]))
    # export-raw reads the drifted dates and amounts back as the lake's types
    raw = ExportOptions(
        source=str(result.run_dir), target=str(tmp_path / "raw"), tables=("orders", "cart_items")
    )  # fmt: skip; items dated by drifted carts
    exported = export_raw(raw)
    assert exported.partitions > 0
    orders = pq.read_table(tmp_path / "raw" / "orders")
    assert orders.schema.field("order_date").type == pa.timestamp("us")
    assert orders.num_rows == pa_csv.read_csv(result.run_dir / "orders.csv").num_rows


def _rows(table: pa.Table) -> list[tuple]:
    columns = [table[c].to_pylist() for c in table.column_names]
    return sorted(zip(*columns, strict=True), key=str)
