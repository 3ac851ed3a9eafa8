"""Ctrl-C and SIGTERM ask a run to stop instead of killing it mid-call.

The first signal only sets a flag: the driver schedules no new day, lets the days in flight
finish or cancels them, releases the lake lock and writes the run manifest. A second signal
exits at once with the same code (the lock may stay; the next run takes over a dead run's lock).

Python runs a signal handler only when the main thread next runs Python code, and `ray.init`
can hold it in one C++ call for half a minute (waiting on a Ray daemon that a SIGTERM sent to
the whole process group killed). So a thread reads the signal numbers Python writes to its
wakeup pipe and asks for the stop at once: the driver's other thread stops rendering meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator

from ecomlake.errors import EXIT_INTERRUPTED

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """A request to wind a run down; set by code, or by SIGINT/SIGTERM inside `signals()`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""  # the signal's name, e.g. "SIGINT"
        self._previous: dict[int, object] = {}
        # Python calls a handler once for the signals that came while the main thread was held
        # (several are one call), so only calls count towards "again: exit"; the wakeup-pipe
        # thread (`_watch`) only asks for the stop early.
        self._handled = 0
        self._piped = False
        self._lock = threading.Lock()

    def request(self, reason: str) -> None:
        """Ask the run to stop; the first reason given is the one reported."""
        self.reason = self.reason or reason
        self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was asked for (polled by the driver and the executors)."""
        return self._event.is_set()

    @property
    def armed(self) -> bool:
        """Whether SIGINT or SIGTERM is handled by this request right now (inside `signals()`)."""
        return bool(self._previous)

    @contextlib.contextmanager
    def signals(self) -> Iterator[StopRequest]:
        """Handle SIGINT and SIGTERM while the block runs, then restore the old handlers.

        Only the main thread can install handlers; elsewhere this does nothing. A signal that
        the process inherited as ignored (a background job of a shell script) stays ignored.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._previous = {
            sig: handler
            for sig in STOP_SIGNALS
            if (handler := signal.getsignal(sig)) is not signal.SIG_IGN
        }
        self.rearm()
        read, write = os.pipe()
        os.set_blocking(write, False)  # Python's C handler must never block on it
        before = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        watcher = threading.Thread(target=self._watch, args=(read,), name="signals", daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous = {}
            signal.set_wakeup_fd(before)
            os.close(write)  # the watcher reads the end of the pipe and stops
            watcher.join(timeout=5)

    def rearm(self) -> None:
        """Take the signals back: `ray.init` installs its own SIGTERM handler, and its core
        worker a crash handler that prints a C++ stack and aborts on SIGTERM."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self._previous:
            signal.signal(sig, self._on_signal)

    def signalled(self, signum: int) -> None:
        """Record a stop asked for by `signum` and say what happens next."""
        name = signal.Signals(signum).name
        self.request(name)
        log.warning(
            "%s: stopping; days in flight finish or are cancelled, then the lake is released "
            "(%s again to exit at once)",
            name,
            "Ctrl-C" if signum == signal.SIGINT else name,
        )

    def _on_signal(self, signum: int, _frame) -> None:
        with self._lock:
            self._handled += 1
            first = self._handled == 1 and (self._piped or not self.is_set())
            early = self._piped
        if first:
            if not early:
                self.signalled(signum)
            return
        # os._exit skips every flush and cleanup: write straight to stderr's descriptor
        name = signal.Signals(signum).name
        os.write(2, f"{name} again: exiting now; the next run resumes the lake\n".encode())
        os._exit(EXIT_INTERRUPTED)

    def _watch(self, read: int) -> None:
        """Ask for the stop when the first stop signal arrives (Python writes each handled
        signal's number to the wakeup pipe from its C handler, whatever the main thread does)."""
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while numbers := pipe.read(64):
                for signum in numbers:
                    with self._lock:
                        seen = self._piped or self._handled or self.is_set()
                        first = signum in STOP_SIGNALS and self.armed and not seen
                        self._piped |= first
                    if first:
                        self.signalled(signum)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (what schedulers and `timeout` send) stops the block as Ctrl-C does, so that its
    clean-up runs: Python's default for SIGTERM ends the process on the spot. Main thread only;
    an ignored SIGTERM stays ignored."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    ):
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
