"""The stop request: a first SIGINT/SIGTERM only sets it, a second exits with 130, handlers come
back after the run, an ignored SIGINT stays ignored, `rearm` takes SIGTERM back from whoever
replaced it, and a stop before the lock is taken writes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ecomlake.run.interrupt import StopRequest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_first_signal_only_requests_a_stop(sig):
    before = signal.getsignal(sig)
    with StopRequest().signals() as stop:
        assert stop.armed and not stop.is_set()
        signal.raise_signal(sig)  # no KeyboardInterrupt, no exit
        assert stop.is_set() and stop.reason == signal.Signals(sig).name
    assert signal.getsignal(sig) is before
    assert not stop.armed


def test_rearm_takes_sigterm_back_from_a_library():
    with StopRequest().signals() as stop:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(15))  # what ray.init does
        stop.rearm()
        signal.raise_signal(signal.SIGTERM)
        assert stop.is_set()


def test_the_first_reason_is_kept():
    stop = StopRequest()
    stop.request("SIGTERM")
    stop.request("SIGINT")
    assert stop.reason == "SIGTERM"


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_second_signal_exits_at_once_with_130():
    done = _child(
        "import signal, time\n"
        "from ecomlake.run.interrupt import StopRequest\n"
        "with StopRequest().signals():\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    time.sleep(30)\n"
        "print('not reached')\n"
    )
    assert done.returncode == 130
    assert "SIGINT again: exiting now" in done.stderr
    assert "not reached" not in done.stdout


def test_an_inherited_ignored_sigint_stays_ignored():
    done = _child(
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from ecomlake.run.interrupt import StopRequest\n"
        "with StopRequest().signals() as stop:\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "    print(stop.is_set(), signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n"
    )
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_a_stop_before_the_lock_leaves_the_target_untouched(tmp_path):
    from ecomlake.api import generate
    from ecomlake.errors import Interrupted
    from ecomlake.run.driver import GenerateOptions

    stop = StopRequest()
    stop.request("SIGINT")
    options = GenerateOptions(target=str(tmp_path / "lake"), executor="in-process")
    with pytest.raises(Interrupted, match="SIGINT: stopped before the run wrote anything"):
        generate(REPO / "gen_config" / "quick.yaml", options, stop=stop)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# The main thread is held in one long C call that releases the GIL and never returns to Python
# (as `ray.init` is, waiting on a killed Ray daemon), while another thread sends a SIGTERM.
_HELD = (
    "import hashlib, os, signal, threading, time\n"
    "from ecomlake.run.interrupt import StopRequest\n"
    "data = bytes(1 << 30)\n"
    "with StopRequest().signals() as stop:\n"
    "    seen = []\n"
    "    def send():\n"
    "        time.sleep(0.2)\n"
    "        os.kill(os.getpid(), signal.SIGTERM)\n"
    "        deadline = time.monotonic() + 5\n"
    "        while not stop.is_set() and time.monotonic() < deadline:\n"
    "            time.sleep(0.01)\n"
    "        seen.append(time.monotonic())\n"
    "    threading.Thread(target=send).start()\n"
    "    hashlib.sha256(data)\n"
    "    held_until = time.monotonic()\n"
    "print(stop.is_set(), seen[0] < held_until)\n"
)


def test_a_signal_stops_the_run_while_the_main_thread_is_held_in_c():
    """The other threads see the stop at once, not when the main thread next runs Python."""
    done = _child(_HELD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
    assert done.stderr.count("SIGTERM: stopping") == 1  # the handler and the pipe: one report
