"""Progress of a long command on stderr: what it is doing, how far, and the time left.

One line, redrawn in place (at most twice a second), ended by a newline when the work is
done. The command line shows it when stderr is a terminal, never with --quiet, and also into
a file or pipe with --progress. Library functions take a `progress` callable and stay silent
without one.
"""
import sys
import time


def seconds_text(s):
    """45 s, 3 min 05 s, 2 h 10 min."""
    s = max(0.0, float(s))
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def wanted(quiet=False, force=False, stream=None):
    """Whether to show progress: never when quiet; when forced; else when stream is a terminal."""
    stream = sys.stderr if stream is None else stream
    return not quiet and (force or bool(getattr(stream, "isatty", lambda: False)()))


class Progress:
    """`what: done/total unit [#####.....] 12 s elapsed, about 30 s left`, on one line.

    Call `update(done)` as the work advances (done of total units) and `close()` at the end.
    The time left is elapsed * (total - done) / done: the rate so far, extrapolated.
    """

    def __init__(self, what, total, unit="", enabled=True, stream=None, every=0.5, width=20):
        self.what, self.total, self.unit = what, (total if total > 0 else 1), unit
        self.enabled, self.stream, self.every, self.width = enabled, stream or sys.stderr, every, width
        self.start = self.last = time.perf_counter()
        self.shown = False

    def __call__(self, done, total=None, note=""):
        self.update(done, total, note)

    def update(self, done, total=None, note=""):
        if total is not None:
            self.total = total if total > 0 else 1
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self.last < self.every and not note:
            return
        self.last = now
        elapsed = now - self.start
        fraction = min(done / self.total, 1.0)
        bar = "#" * int(self.width * fraction) + "." * (self.width - int(self.width * fraction))
        left = f", about {seconds_text(elapsed * (self.total - done) / done)} left" if 0 < done < self.total else ""
        amount = f"{fraction:.0%}" if not self.unit else f"{done:,}/{self.total:,} {self.unit}"
        note = f" ({note})" if note else ""
        self.stream.write(f"\r{self.what}: {amount} [{bar}] {seconds_text(elapsed)} elapsed{left}{note}   ")
        self.stream.flush()
        self.shown = True

    def elapsed(self):
        """Seconds since the work started."""
        return time.perf_counter() - self.start

    def close(self):
        if self.enabled and self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
