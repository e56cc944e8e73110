"""Atomic file writes: a file is either the old one or the complete new one, never half.

Every file minivae writes (checkpoints, histories, figures, downloads) is written under a
temporary name in the destination folder and renamed over the target only once complete.
On any error, on Ctrl-C (KeyboardInterrupt) and on SIGTERM the temporary file is removed
and the old file is left as it was: while a file is being written, SIGTERM raises
:class:`Terminated` (exit status 143) as Ctrl-C raises KeyboardInterrupt, see
:func:`sigterm_raises`. (SIGKILL cannot be caught: it can leave a temporary
``.NAME.XXXXXXXX.tmp`` behind, never a half-written NAME.)

New files get the permissions the user's umask gives (0644 under the usual umask 022,
0600 under 077), as ``open(path, "w")`` would.
"""
import os
import secrets
import signal
import threading
from contextlib import contextmanager
from pathlib import Path


class Terminated(SystemExit):
    """SIGTERM arrived inside :func:`sigterm_raises`: raised so that clean-up code runs, as
    KeyboardInterrupt does for Ctrl-C. Uncaught, the process exits with status 143."""


def _raise_terminated(signum, frame):
    raise Terminated(128 + signum)


@contextmanager
def sigterm_raises():
    """Within this block SIGTERM raises :class:`Terminated` instead of killing the process
    at once, so that ``finally`` and ``except BaseException`` clean-ups run (temporary
    files removed, empty folders taken away), exactly as for Ctrl-C.

    Changes nothing outside the main thread (only it may set signal handlers) or when
    SIGTERM already has a handler of the program's own, or is ignored.
    """
    install = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
    if install:
        signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _create_temporary(path, suffix):
    """Create and open a new file ``.NAME.<8 hex digits><suffix>`` beside path.

    os.open with mode 0o666 lets the kernel apply the umask, as for any new file
    (tempfile.mkstemp would always give 0600). O_EXCL: never reuse an existing name.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_file(path, mode="wb", *, suffix=".tmp"):
    """Open a temporary file beside path for writing; on success it replaces path.

    with atomic_file("run/history.json", "w") as f:
        f.write(text)

    path : path-like; its folder is created if missing.
    mode : "wb" or "w" (text, UTF-8).
    suffix : the temporary file's suffix (downloads use ".part").

    If the block raises (also Ctrl-C, or SIGTERM, which raises Terminated here), the
    temporary file is removed and path is left as it was. The new file has the permissions
    the umask gives.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sigterm_raises():
        fd, tmp = _create_temporary(path, suffix)
        try:
            encoding = None if "b" in mode else "utf-8"
            with os.fdopen(fd, mode, encoding=encoding) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
