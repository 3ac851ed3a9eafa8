"""Hostile flags and YAML values: dates before 1970 or past 9999-12-31, empty and non-ISO date
lists, seeds outside 64 bits, flags against a window the YAML pins. Each is one line naming the
flag or YAML path, exit 2, no traceback and no lake; `doctor` says what `generate` would."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecomlake.cli import doctor
from ecomlake.cli.app import run

QUICK = Path(__file__).resolve().parents[2] / "gen_config" / "quick.yaml"
PINNED = "pinned by the YAML (parameters.start_date, parameters.end_date)"


@pytest.fixture
def unpinned(tmp_path: Path) -> Path:
    path = tmp_path / "unpinned.yaml"
    text = QUICK.read_text()
    path.write_text(
        text.replace("  start_date: 2024-01-01\n", "").replace("  end_date: 2024-03-31\n", "")
    )
    return path


def _refused(tmp_path: Path, capsys, config: Path, *args: str) -> str:
    """Run generate; assert exit 2, nothing written; the one error line."""
    lake = tmp_path / "lake"
    code = run(
        [
            "generate",
            "-c",
            str(config),
            "-t",
            str(lake),
            "--no-progress",
            "--executor",
            "in-process",
            *args,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    assert not lake.exists()
    return err[len("error: ") :]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-date", "0001-01-01", "--days", "3"], "--start-date: 0001-01-01 is before 1970-01-01, the earliest date supported"),
        (["--start-date", "0001-01-01", "--end-date", "0001-01-03"], "--start-date: 0001-01-01 is before 1970-01-01"),
        (["--start-date", "1970-06-01", "--end-date", "1970-06-05"], "--end-date: the window end must be on or after 1971-01-01 (got 1970-06-05): customers sign up during the parameters.signup_years (1) × 365 days before it"),
        (["--days-ago", "99999999"], "--days-ago: 99999999 days before today is before 1970-01-01"),
        (["--days-ago", "20000"], "--days-ago: "),
        (["--dates", "2024-01-02,1969-12-31"], "--dates: 1969-12-31 is before 1970-01-01"),
    ],
)  # fmt: skip
def test_unpinned_window_before_1970(tmp_path, capsys, unpinned, args, message):
    assert _refused(tmp_path, capsys, unpinned, *args).startswith(message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-date", "9999-12-31", "--days", "2"], f"--start-date: 9999-12-31 is outside the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--start-date", "9999-12-31"], f"--start-date: 9999-12-31 is outside the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--end-date", "2025-01-01"], f"--end-date: 2025-01-01 is outside the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--start-date", "2024-03-30", "--days", "100000000000000000000"], "--days: 100000000000000000000 days from 2024-03-30 run past 9999-12-31"),
        (["--days", "2000000000"], f"--days: 2000000000 days up to 2024-03-31 start before the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--days", "100000000000000000000"], "--days: 100000000000000000000 days up to 2024-03-31 start before"),
        (["--days-ago", "99999999"], "--days-ago: 99999999 days before today is before 1970-01-01"),
    ],
)  # fmt: skip
def test_dates_past_the_supported_range_or_the_pinned_window(tmp_path, capsys, args, message):
    assert _refused(tmp_path, capsys, QUICK, *args).startswith(message)


@pytest.mark.parametrize("dates", ["", " , "])
def test_empty_dates_are_an_error_not_the_whole_world(tmp_path, capsys, dates):
    assert _refused(tmp_path, capsys, QUICK, "--dates", dates) == "--dates: give at least one date"


@pytest.mark.parametrize("text", ["20240105", "2024-1-5", "2024-01-05T00:00"])
def test_dates_are_iso_only(tmp_path, capsys, text):
    for flag in ("--start-date", "--dates"):
        message = _refused(tmp_path, capsys, QUICK, flag, text)
        assert message == f"{flag}: invalid date {text!r} (use YYYY-MM-DD)"


@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_seed_outside_64_bits(tmp_path, capsys, seed):
    message = _refused(tmp_path, capsys, QUICK, "--seed", seed, "--dates", "2024-01-02")
    assert message == f"--seed: must be a whole number from 0 to 2**64 - 1 (got {seed})"
    root = tmp_path / "art"
    assert (
        run(["run-generator", "-c", str(QUICK), "--artifact-root", str(root), "--seed", seed]) == 2
    )
    assert capsys.readouterr().err.strip().startswith("error: --seed: must be a whole number")
    assert not root.exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("start_date: 2024-01-01", "start_date: 0001-01-01", "parameters.start_date: must be on or after 1970-01-01, the earliest date supported (got 0001-01-01)"),
        ("start_date: 2024-01-01\n  end_date: 2024-03-31", "start_date: 1970-06-01\n  end_date: 1970-12-31", "parameters.end_date: the window end must be on or after 1971-01-01 (got 1970-12-31)"),
        ("signup_years: 1", "signup_years: 60", "parameters.end_date: the window end must be on or after 2029-12-17"),
        ("faker_seed: 42", "faker_seed: true", "faker_seed: must be a whole number from 0 to 2**64 - 1 (got True)"),
        ("faker_seed: 42", "faker_seed: -1", "faker_seed: must be a whole number from 0 to 2**64 - 1 (got -1)"),
    ],
)  # fmt: skip
def test_yaml_window_and_seed(tmp_path, capsys, old, new, message):
    text = QUICK.read_text()
    assert old in text
    config = tmp_path / "bad.yaml"
    config.write_text(text.replace(old, new, 1))
    assert _refused(tmp_path, capsys, config).startswith(message)


@pytest.fixture
def no_ray(monkeypatch):
    """The doctor's Ray check imports Ray (seconds); these tests are about the window."""
    monkeypatch.setattr(doctor, "_ray", lambda address: "skipped")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start-date", "9999-12-31"], f"--start-date: 9999-12-31 is outside the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--start-date", "2023-01-01", "--end-date", "2024-01-03"], f"--start-date: 2023-01-01 is outside the world window 2024-01-01..2024-03-31 {PINNED}"),
        (["--start-date", "0001-01-01", "--end-date", "0001-01-03"], "--start-date: 0001-01-01 is before 1970-01-01"),
    ],
)  # fmt: skip
def test_doctor_fails_the_window_generate_refuses(tmp_path, capsys, no_ray, args, message):
    lake = tmp_path / "lake"
    assert run(["doctor", "-c", str(QUICK), "-t", str(lake), *args]) == 2
    out = capsys.readouterr().out
    assert f"FAIL  window  {message}" in out, out
    assert _refused(tmp_path, capsys, QUICK, *args).startswith(message)  # generate says the same


def test_doctor_checks_an_unpinned_window_like_generate(tmp_path, capsys, no_ray, unpinned):
    args = ["--start-date", "1970-06-01", "--end-date", "1970-06-05"]
    assert run(["doctor", "-c", str(unpinned), "-t", str(tmp_path / "lake"), *args]) == 2
    assert (
        "FAIL  window  --end-date: the window end must be on or after 1971-01-01"
        in capsys.readouterr().out
    )
    ok = ["--start-date", "2024-02-01", "--end-date", "2024-02-03"]
    assert run(["doctor", "-c", str(QUICK), "-t", str(tmp_path / "lake"), *ok]) == 0
    assert (
        "ok    window  2024-01-01..2024-03-31, 91 days (pinned by the YAML; the run renders 3 of its days)"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--dates", "2024-01-02"], "--dates"),
        (["--days-ago", "3"], "--days-ago"),
        (["--start-date", "2024-01-02"], "--start-date"),
        (["--batch-id", "b2"], "--batch-id"),
        (["--compression", "snappy"], "--compression"),
        (["--compression", "zstd"], "--compression"),  # the default value, given: still refused
        (["--messiness-level", "heavy_mess"], "--messiness-level"),
        (["--target-size-mb", "128"], "--target-size-mb"),
        (["--post-export-hook", "json:dumps"], "--post-export-hook"),
    ],
)
def test_repair_refuses_the_flags_it_would_ignore(tmp_path, capsys, args, flag):
    """`--repair --dates X` checks every day of the lake, not X: said before anything is read."""
    message = _refused(tmp_path, capsys, QUICK, "--repair", *args)
    assert message.startswith(f"{flag}: cannot be combined with --repair, which checks every day")


def test_a_batch_id_too_long_to_name_the_run_record(tmp_path, capsys):
    """It used to commit every partition, then fail writing `_runs/<batch_id>.json`, for good."""
    message = _refused(tmp_path, capsys, QUICK, "--days", "1", "--batch-id", "x" * 201)
    assert message == "--batch-id: at most 200 characters, got 201"


@pytest.mark.parametrize("html", ["", "folder"])
def test_stats_html_that_is_no_file_name(tmp_path, capsys, html):
    """Refused before the report is worked out (it was a traceback after, and a .partial)."""
    (tmp_path / "folder").mkdir()
    target = str(tmp_path / "folder") if html else ""
    assert run(["stats", str(tmp_path), "--html", target]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --html: ") and "is not a file name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_misspelt_table_name_in_the_yaml(tmp_path, capsys):
    """Its column list was dropped without a word, and the table written whole."""
    text = QUICK.read_text().replace("  - name: product_catalog\n", "  - name: product_catalogue\n")
    config = tmp_path / "typo.yaml"
    config.write_text(text)
    message = _refused(tmp_path, capsys, config, "--days", "1")
    assert message.startswith(
        "tables[1].name: no table 'product_catalogue' (did you mean 'product_catalog'?"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--seed", "abc"], "error: --seed: Input should be a valid integer"),
        (["--workers", "0"], "error: --workers: Input should be greater than or equal to 1"),
        (["--log-level", "verbose"], "error: --log-level: Value error, 'verbose' is not one of"),
        (["--bogus"], "error: No such option: --bogus"),
    ],
)
def test_a_flag_of_the_wrong_type_is_one_line_too(tmp_path, capsys, args, line):
    """They were click's four lines (usage, hint, blank, error)."""
    assert run(["generate", "-c", str(QUICK), "-t", str(tmp_path / "lake"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(line) and "\n" not in err, err
    assert not (tmp_path / "lake").exists()


def test_an_empty_batch_id_is_refused_not_replaced(tmp_path, capsys):
    message = _refused(tmp_path, capsys, QUICK, "--days", "1", "--batch-id", "")
    assert message == "--batch-id: must not be empty (leave it out for a random one)"


def test_an_empty_artifact_root_is_refused_not_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = run(["run-generator", "-c", str(QUICK), "--artifact-root", "",
                "--start-date", "2024-01-01", "--end-date", "2024-01-02"])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == "error: --artifact-root: must not be empty"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("flag", "value"), [("--ray-address", "127.0.0.1:1"), ("--workers", "4")])
def test_ray_flags_with_the_in_process_executor(tmp_path, capsys, flag, value):
    """They were ignored without a word (a dead address was never tried)."""
    message = _refused(tmp_path, capsys, QUICK, "--days", "1", flag, value)
    assert message == f"{flag}: only for Ray; --executor in-process runs in this process"


@pytest.mark.parametrize(
    "command",
    [
        "generate",
        "verify",
        "stats",
        "doctor",
        "run-generator",
        "export-raw",
        "upload-raw",
        "submit",
    ],
)
def test_help_examples_are_printed_as_written(command, capsys, monkeypatch):
    """Rewrapped to the terminal, an example split into two command lines: copied, the first
    ran a six-year backlog on every core, and a `\\` landed mid-line. The text above them
    reads as prose (the docstring's own indent leaked into it: "as     generate would")."""
    import importlib

    monkeypatch.setenv("COLUMNS", "60")
    module = importlib.import_module(f"ecomlake.cli.{command.replace('-', '_')}")
    assert run([command, "--help"]) == 0
    printed = [line.strip() for line in capsys.readouterr().out.splitlines()]
    lines = [line.strip() for line in module.EXAMPLES.splitlines() if line.strip()]
    assert lines and all(line in printed for line in lines), (lines, printed)
    prose = printed[: printed.index("Examples:")]
    assert not [line for line in prose if "  " in line], prose
