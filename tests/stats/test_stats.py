"""`ecomlake stats` on real lakes: clean lakes pass for several seeds, a config other than the
lake's fails the knobs it changed, the JSON keeps its shape, the HTML renders in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ecomlake.cli.app import run
from ecomlake.stats import stats_lake

from .conftest import QUICK_CONFIG, month_config
from .png import read_png

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHANGED = {
    "conversion_rate: 0.12": "conversion_rate: 0.30",
    "abandoned_cart_emptied_prob: 0.15": "abandoned_cart_emptied_prob: 0.45",
    "  Website: 0.55": "  Website: 0.35",
    "  Phone: 0.10": "  Phone: 0.30",
}
CHANGED_KNOBS = {
    ("parameters.first_purchase_conversion_boost", "Website"),  # boosted conversion_rate
    ("parameters.abandoned_cart_emptied_prob", None),
    ("parameters.signup_channel_distribution", "Website"),
    ("parameters.signup_channel_distribution", "Phone"),
}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_lakes_pass(make_lake, seed):
    report = stats_lake(str(make_lake(seed)))
    failed = [c for c in report.checks if c.ok is False]
    assert failed == []
    assert sum(c.ok is True for c in report.checks) >= 60  # judged, not skipped for small n
    overall = next(c for c in report.checks if c.knob == "parameters.return_rate")
    assert overall.expected < overall.configured  # returns past the window end are not made


@pytest.mark.slow
def test_messy_lake_is_judged_on_its_clean_truth(make_lake):
    """Undoing the defect log gives the clean lake of the same seed, row for row."""
    messy = stats_lake(str(make_lake(1, "medium_mess")))
    clean = stats_lake(str(make_lake(1)))
    assert [c.as_json() for c in messy.checks] == [c.as_json() for c in clean.checks]
    assert any("clean truth" in note for note in messy.notes)


@pytest.mark.slow
def test_other_config_fails_the_knobs_it_changed(make_lake, tmp_path):
    lake = make_lake(1)
    report = stats_lake(str(lake), month_config(**CHANGED))
    failed = {(c.knob, c.segment) for c in report.checks if c.ok is False}
    assert failed >= CHANGED_KNOBS
    text = QUICK_CONFIG.read_text().replace("start_date: 2024-01-01", "start_date: 2024-03-01")
    for old, new in CHANGED.items():
        text = text.replace(old, new)
    (tmp_path / "changed.yaml").write_text(text)
    assert run(["stats", str(lake), "--config", str(tmp_path / "changed.yaml")]) == 1
    assert run(["stats", str(lake)]) == 0


@pytest.mark.slow
def test_json_shape(make_lake, capsys):
    lake = make_lake(1)
    assert run(["stats", str(lake), "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"lake", "window", "days_held", "checks"}
    assert body["days_held"] == 31
    assert body["lake"] == str(lake)
    assert body["window"] == ["2024-03-01", "2024-03-31"]
    keys = {"knob", "segment", "configured", "expected", "realized", "n", "z", "ok"}
    assert all(set(c) == keys for c in body["checks"])
    assert all(isinstance(c["n"], int) and c["ok"] in (True, False, None) for c in body["checks"])
    tiers = [c["segment"] for c in body["checks"] if c["knob"].endswith("tier_spend_thresholds")]
    config_order = list(quick_config_tiers())
    assert tiers == [t for t in config_order if t in tiers]  # by tier, not by name
    conversion = next(c for c in body["checks"] if c["knob"] == "parameters.conversion_rate")
    assert conversion["segment"] is None and conversion["configured"] == 0.12
    website = next(c for c in body["checks"] if c["segment"] == "Website")
    assert website["knob"] == "parameters.signup_channel_distribution"
    assert isinstance(website["z"], float) and website["ok"] is True
    knobs = {c["knob"] for c in body["checks"]}
    assert len(knobs) >= 25


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert run(["stats", str(tmp_path / "none")]) == 2
    assert run(["stats", str(tmp_path), "--format", "xml"]) == 2
    assert run(["stats", str(tmp_path), "--replicates", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert err[2].startswith("error: --replicates: must be")


def test_library_names_replicates_as_its_argument(tmp_path):
    import ecomlake

    with pytest.raises(ecomlake.ConfigError, match=r"^replicates: must be .* got 0$"):
        ecomlake.stats(str(tmp_path), replicates=0)
    with pytest.raises(ecomlake.ConfigError, match=r"^replicates: .* to 1000 .* got 100000$"):
        ecomlake.stats(str(tmp_path), replicates=100_000)


@pytest.mark.slow
def test_replicates_set_the_worlds_behind_the_visit_rows(make_lake):
    """Three replicate worlds give other expectations than the default twenty, and say so."""
    lake = str(make_lake(1))
    few, default = stats_lake(lake, replicates=3), stats_lake(lake)
    assert any("their 3 plan replicates" in note for note in few.notes)
    seasonal = [
        (a.expected, b.expected)
        for a, b in zip(few.checks, default.checks, strict=True)
        if a.knob == "parameters.seasonal_factors"
    ]
    assert seasonal and all(a != b for a, b in seasonal)
    assert few.ok


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_html_renders_in_chromium(make_lake, tmp_path):
    page = tmp_path / "stats.html"
    assert run(["stats", str(make_lake(1)), "--html", str(page)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["stats.html"]  # no partial file left
    text = page.read_text()
    assert "<svg" in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=900,1200",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = read_png(shot.read_bytes())[:, :, :3]
    assert pixels.shape[:2] == (1200, 900)
    not_white = (pixels < 240).any(axis=2).mean()
    assert 0.03 < not_white < 0.9  # text and charts, not a blank page
    colours = {tuple(int(v) // 32 for v in px) for px in pixels.reshape(-1, 3)[::7]}
    assert len(colours) >= 8  # the palette's bars, not just black on white


@pytest.mark.slow
def test_library_stats_takes_a_config_path_and_gives_the_cli_report(make_lake, capsys, tmp_path):
    import ecomlake
    import ecomlake.stats.report  # the package of the same name does not shadow the function

    lake = make_lake(1)
    assert run(["stats", str(lake), "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    (tmp_path / "month.yaml").write_text((lake / "_config.yaml").read_text())
    report = ecomlake.stats(str(lake), str(tmp_path / "month.yaml"))
    assert isinstance(report, ecomlake.StatsReport)
    assert json.loads(report.to_json()) == cli
    with pytest.raises(ecomlake.ConfigError, match=r"^memory_limit"):
        ecomlake.stats(str(lake), memory_limit="lots")


def test_a_bound_with_nothing_to_judge_is_not_judged():
    """A payment method no order used: the row said ok: true, the docs say null."""
    from ecomlake.stats.checks import bound_check

    row = bound_check("financials.payment_fee_rates", "ACH", 0.01, None, 0, True)
    assert row.ok is None and row.note == "no observations"
    assert bound_check("k", None, [1, 5], [0, 6], 3, False).ok is False


def quick_config_tiers() -> list[str]:
    from .conftest import month_config

    return list(month_config().parameters.tier_spend_thresholds)
