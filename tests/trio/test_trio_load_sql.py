"""`load_data.sql` loads a raw run into SQLite with its PKs and the eleven FKs, and
`PRAGMA foreign_key_check` finds nothing.

With the `sqlite3` shell installed (it is on CI) the script runs as users run it. Without it, the
DDL runs through Python's sqlite3 and the rows go in with `csv` + executemany: the same tables and
keys, but the dot-commands (`.import`) are not exercised.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from trio_helpers import END, QUICK, START

from ecomlake.cli.app import run
from ecomlake.trio.raw_run import RawRunOptions, run_generator
from ecomlake.trio.sqlite_script import FOREIGN_KEYS, shell_quote

SQLITE = shutil.which("sqlite3")


def _load(script: Path, db: Path) -> None:
    if SQLITE:
        done = subprocess.run(
            [SQLITE, str(db)], stdin=script.open(), capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr
        return
    _load_with_python(script, db)


def _load_with_python(script: Path, db: Path) -> None:
    """Fallback: SQL statements via executescript, `.import` lines via csv + executemany."""
    text = script.read_text()
    sql = "\n".join(line for line in text.splitlines() if not line.startswith("."))
    statements, updates = sql.split("\nUPDATE", 1) if "\nUPDATE" in sql else (sql, "")
    with sqlite3.connect(db) as conn:
        conn.executescript(statements)
        for line in text.splitlines():
            if line.startswith(".import"):
                path, table = shlex.split(line)[-2:]
                with open(path, newline="") as handle:
                    rows = list(csv.reader(handle))[1:]
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        if updates:
            conn.executescript("UPDATE" + updates)


def _counts(db: Path) -> tuple[list, dict[str, int]]:
    with sqlite3.connect(db) as conn:
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return problems, counts


def test_load_data_sql_loads_every_row_with_clean_foreign_keys(raw_dir, tmp_path):
    db = tmp_path / "run.db"
    _load(raw_dir / "load_data.sql", db)
    problems, counts = _counts(db)
    assert problems == []
    assert counts == json.loads((raw_dir / "_run.json").read_text())["rows"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE age IS NULL").fetchone()[0] > 0
        order_items_sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'order_items'"
        ).fetchone()[0]
        fks = sum(len(conn.execute(f"PRAGMA foreign_key_list({t})").fetchall()) for t in counts)
    assert "PRIMARY KEY (order_id, product_id)" in order_items_sql
    assert fks == len(FOREIGN_KEYS) == 11


def test_python_fallback_loader_agrees(raw_dir, tmp_path):
    """The no-shell path (used where sqlite3 is absent) loads the same rows, FKs clean."""
    db = tmp_path / "py.db"
    _load_with_python(raw_dir / "load_data.sql", db)
    problems, counts = _counts(db)
    assert problems == []
    assert counts == json.loads((raw_dir / "_run.json").read_text())["rows"]


def test_reloading_drops_and_recreates(raw_dir, tmp_path):
    db = tmp_path / "run.db"
    _load(raw_dir / "load_data.sql", db)
    _load(raw_dir / "load_data.sql", db)  # DROPs go children first, so FKs do not block them
    assert _counts(db)[0] == []


@pytest.mark.skipif(SQLITE is None, reason="needs the sqlite3 shell for .import quoting")
def test_paths_with_quotes_and_spaces(tmp_path):
    root = tmp_path / "it's a dir"
    args = ["--start-date", str(START), "--end-date", str(START)]
    assert run(["run-generator", "-c", str(QUICK), "--artifact-root", str(root), *args]) == 0
    run_dir = next(root.iterdir())
    script = (run_dir / "load_data.sql").read_text()
    assert shell_quote(str(run_dir / "orders.csv")) in script
    assert shell_quote(str(run_dir / "orders.csv")).startswith('"')
    db = tmp_path / "q.db"
    _load(run_dir / "load_data.sql", db)
    assert _counts(db)[0] == []


def test_shell_quote():
    assert shell_quote("/a b/c.csv") == "'/a b/c.csv'"
    assert shell_quote("/it's/c.csv") == '"/it\'s/c.csv"'
    assert shell_quote('/a"b\\c') == "'/a\"b\\c'"
    assert shell_quote("/x'\"\\") == '"/x\'\\"\\\\"'


def test_a_messy_run_loads_every_row_of_its_csvs(quick_cfg, tmp_path):
    """Duplicates and orphan keys are a messy run's defects: with the keys declared, SQLite
    rejected them and their children, and the script failed."""
    options = RawRunOptions(
        artifact_root=str(tmp_path), start_date=START, end_date=END, messiness_level="heavy_mess"
    )
    run_dir = run_generator(quick_cfg, options).run_dir
    db = tmp_path / "messy.db"
    _load(run_dir / "load_data.sql", db)
    _, counts = _counts(db)
    assert counts == json.loads((run_dir / "_run.json").read_text())["rows"]
    with sqlite3.connect(db) as conn:
        copies = conn.execute(
            "SELECT count(*) - count(DISTINCT cart_id) FROM shopping_carts"
        ).fetchone()[0]
    assert copies > 0  # the duplicate carts are there to find
