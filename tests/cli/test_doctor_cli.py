"""`ecomlake doctor`: one line per check, exit 2 when an input is unusable, 1 when another check
fails; never writes a lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecomlake.cli.app import run

REPO = Path(__file__).resolve().parents[2]
QUICK = str(REPO / "gen_config" / "quick.yaml")


def test_all_checks_pass_for_a_new_local_lake(tmp_path, capsys):
    assert run(["doctor", "-c", QUICK, "-t", str(tmp_path / "lake")]) == 0
    out = capsys.readouterr().out
    for name in ("config", "window", "target", "lake", "plan", "ray"):
        assert f"ok    {name}" in out
    assert "new lake" in out and "result: ok" in out
    assert not (tmp_path / "lake").exists()


def test_failures_are_reported_and_later_checks_skipped(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("not a folder")
    assert run(["doctor", "-c", str(tmp_path / "missing.yaml"), "-t", str(target)]) == 2
    out = capsys.readouterr().out
    assert "FAIL  config  config: file not found" in out
    assert "skip  window" in out
    assert "FAIL  target  --target:" in out and "is not a folder" in out


def test_existing_lake_of_another_config_is_flagged(tmp_path, capsys):
    lake = tmp_path / "lake"
    assert run(["generate", "-c", QUICK, "-t", str(lake), "--dates", "2024-01-02",
                "--executor", "in-process", "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert run(["doctor", "-c", QUICK, "-t", str(lake)]) == 0
    out = capsys.readouterr().out
    assert "existing lake of this config" in out
    assert "ok    plan    cached in" in out  # the run above stored the quick world's plan
    backlog = str(REPO / "gen_config" / "backlog.yaml")
    assert run(["doctor", "-c", backlog, "-t", str(lake)]) == 2  # generate's own refusal
    out = capsys.readouterr().out
    assert "FAIL  lake    --target: " in out and "made with another config, seed or window" in out
    assert run(["doctor", "-c", QUICK, "-t", str(lake), "--seed", "7"]) == 2
    assert "this run: seed 7" in capsys.readouterr().out


def test_a_messy_lake_is_judged_at_the_level_given(tmp_path, capsys):
    """doctor compared config and window only: a messy lake read as another config, and the
    flag its nightly run needs did not exist here."""
    lake = tmp_path / "lake"
    assert run(["generate", "-c", QUICK, "-t", str(lake), "--dates", "2024-01-02",
                "--messiness-level", "light_mess", "--executor", "in-process",
                "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert run(["doctor", "-c", QUICK, "-t", str(lake)]) == 2
    out = capsys.readouterr().out
    assert "holds a light_mess lake and this run is none: pass --messiness-level light_mess" in out
    assert run(["doctor", "-c", QUICK, "-t", str(lake), "--messiness-level", "light_mess"]) == 0
    assert "existing lake of this config" in capsys.readouterr().out
    # What the level leaves out is said on the lake line, not as a log line amid the table.
    assert run(["doctor", "-c", QUICK, "-t", str(tmp_path / "new"), "--messiness-level",
                "heavy_mess"]) == 0  # fmt: skip
    out = capsys.readouterr()
    assert "ok    lake    new lake; messiness heavy_mess: return-reason bias skipped" in out.out
    assert "return-reason bias" not in out.err


def test_plan_not_yet_cached_is_said(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ECOMLAKE_PLAN_CACHE", str(tmp_path / "empty"))
    assert run(["doctor", "-c", QUICK, "-t", str(tmp_path / "lake")]) == 0
    assert "ok    plan    not cached in" in capsys.readouterr().out


def test_unreachable_ray_cluster_fails(tmp_path, capsys):
    code = run(["doctor", "-c", QUICK, "-t", str(tmp_path / "l"), "--ray-address", "127.0.0.1:1"])
    assert code == 2  # what generate would exit with
    assert "FAIL  ray" in capsys.readouterr().out


def test_generate_with_an_unreachable_cluster_is_bad_input(tmp_path, capsys):
    code = run(["generate", "-c", QUICK, "-t", str(tmp_path / "lake"), "--no-progress",
                "--ray-address", "127.0.0.1:1"])  # fmt: skip
    assert code == 2
    assert "--ray-address: nothing answers at 127.0.0.1:1" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_a_damaged_lock_fails_as_generate_would_refuse_it(tmp_path, capsys):
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "_lock.json").write_text("garbage")
    assert run(["doctor", "-c", QUICK, "-t", str(lake)]) != 0
    line = next(x for x in capsys.readouterr().out.splitlines() if " lake " in x)
    assert line.startswith("  FAIL  lake ") and "_lock.json is damaged" in line


def test_an_address_that_accepts_and_never_answers_is_refused_in_seconds(monkeypatch):
    """A TCP connect passed the probe, and ray.init then retried for about 14 minutes."""
    import socket
    import time

    from ecomlake.errors import OptionError
    from ecomlake.run import executors

    monkeypatch.setattr(executors, "GRPC_READY_SECONDS", 1.0)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts; nothing answers
    address = f"127.0.0.1:{silent.getsockname()[1]}"
    started = time.monotonic()
    try:
        with pytest.raises(OptionError, match="does not answer as a Ray cluster within 1 s"):
            executors.probe_address(address)
        executors.probe_address(address, handshake=False)  # connected already: no handshake
    finally:
        silent.close()
    assert time.monotonic() - started < 10
