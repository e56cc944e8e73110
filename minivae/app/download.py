r"""Fetching MNIST and Fashion-MNIST from public mirrors, verified, atomically.

Each file is downloaded as the mirror serves it (``NAME.gz``) into a temporary file in the
destination folder (:func:`minivae.app.atomic.atomic_file`), checked as it arrives, and only
then renamed into place:

    download -> .NAME.gz.XXXXXXXX.part -> gunzip + sha256 == CHECKSUMS[...] ? -> NAME.gz

The checksum is the sha256 of the **decompressed** bytes, so a file recompressed by someone
else (a Debian package, a lab copy made with ``gzip -9``) still verifies. On any failure
(connection refused, HTTP error, truncated gzip, wrong checksum, too slow, Ctrl-C, SIGTERM)
the temporary file is removed, nothing already in the folder is touched, and the next
mirror is tried. When every mirror has failed, :class:`DownloadError` says which files are
missing, what each mirror answered, and where to put the files by hand. (A download killed
by SIGKILL cannot clean up: the next download into the folder removes its ``.part`` file
once it has not been written for an hour.)

Time limits, so that a dead or crawling mirror cannot hang a run:

- ``timeout`` (default 10 s): the longest wait for a connection, or for the next bytes of
  an answer. A mirror that does not answer in time is marked down and not asked again.
- ``deadline`` (default 300 s, or ``$MINIVAE_DOWNLOAD_DEADLINE``): the longest one file may
  take from connection to last byte. When it passes the connection is closed, the file is
  dropped and the mirror is not asked again. (Name lookup, DNS, is not covered by either:
  the standard library cannot time it out.)

The mirror list can be replaced, for a local copy or a test server, with the ``mirrors``
argument or the ``MINIVAE_MIRROR`` environment variable (http, https or file URLs
separated by spaces or commas), e.g. ``MINIVAE_MIRROR=http://127.0.0.1:8000/mnist/``.
"""
import hashlib
import http.client
import math
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

from .atomic import atomic_file, sigterm_raises
from .progress import Progress, wanted
from ..errors import DownloadError, InputError

MIRROR_ENV = "MINIVAE_MIRROR"
DEADLINE_ENV = "MINIVAE_DOWNLOAD_DEADLINE"
TIMEOUT = 10.0      # seconds: connecting, or waiting for the next bytes
DEADLINE = 300.0    # seconds: one whole file (9.9 MB for the largest: 33 kB/s is enough)
STALE_PART = 3600.0  # seconds: a .part file untouched this long is a killed download's


# The four IDX files of each dataset, by role, without the .gz suffix.
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# sha256 of the DECOMPRESSED files.
# MNIST: the table in shared/data/README.md (identical to the official files).
# Fashion-MNIST: computed from Debian's dataset-fashion-mnist package; their md5s
# (f4a8712d..., 9018921c..., 8181f547..., 15d48437...) equal the md5s of the decompressed
# official files that torchvision publishes.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
}

TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16


def mirrors_for(name, mirrors=None):
    """The mirror URLs to try for dataset ``name``, in order.

    The ``mirrors`` argument wins, then the ``MINIVAE_MIRROR`` environment variable (URLs
    separated by spaces or commas), then the built-in :data:`MIRRORS`. Each must be an
    http, https or file URL; anything else raises InputError naming where it came from.
    """
    source = "mirrors="
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "").replace(",", " ").split()
        mirrors, source = (env, MIRROR_ENV) if env else (MIRRORS[name], "MIRRORS")
    if isinstance(mirrors, (str, os.PathLike)):
        mirrors = [mirrors]
    mirrors = [str(m) for m in mirrors]
    for m in mirrors:
        parts = urllib.parse.urlsplit(m)
        if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
            raise InputError(f"{source}: {m!r} is not a mirror URL; give http://, https:// or "
                             "file:// URLs of folders that hold the .gz files")
    if not mirrors:
        raise InputError(f"{source}: no mirror given")
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def deadline_from_env():
    """Seconds allowed per file: ``$MINIVAE_DOWNLOAD_DEADLINE`` if set, else DEADLINE."""
    text = os.environ.get(DEADLINE_ENV, "").strip()
    if not text:
        return DEADLINE
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise InputError(f"{DEADLINE_ENV}={text!r}: give the seconds one file may take to "
                         "download, a positive number, e.g. 900")
    return seconds


class GzipSha256:
    """sha256 of the decompressed content of a gzip stream that arrives in pieces.

    digest = GzipSha256(); digest.update(piece) for each piece; digest.hexdigest()
    Raises ValueError for bytes that are not gzip, or a stream that is cut short.
    """

    def __init__(self):
        self.sha = hashlib.sha256()
        self.inflate = zlib.decompressobj(wbits=31)     # 31: gzip header and trailer
        self.n_in = 0
        self.head = b""

    def update(self, piece):
        if self.n_in < 2:                                 # the first two bytes: 1f 8b
            head = (self.head + piece)[:2]
            if head != _GZIP_MAGIC[:len(head)]:
                raise ValueError("not a gzip file (the server sent something else, e.g. an "
                                 "HTML error page)")
            self.head = head
        self.n_in += len(piece)
        try:
            while piece:                # 4 KiB at a time: a gzip bomb cannot fill memory
                if self.inflate.eof:                     # another gzip member follows
                    self.inflate = zlib.decompressobj(wbits=31)
                self.sha.update(self.inflate.decompress(piece[:4096]))
                piece = self.inflate.unused_data + piece[4096:]
        except zlib.error as err:
            raise ValueError(f"corrupt gzip data ({err})") from err

    def hexdigest(self):
        if self.n_in == 0 or not self.inflate.eof:
            raise ValueError("truncated gzip file (it ends before the end of its data)")
        return self.sha.hexdigest()


class _Deadline:
    """The total time one download may take. When it passes, the connection is shut down,
    which ends any read that is waiting on it; ``passed`` then says why the read ended."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.passed = False
        self.sock = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self):
        self.passed = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def watch(self, sock):
        """Called with each new connection's socket."""
        self.sock = sock
        if self.passed:
            self._expire()

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def _opener(deadline):
    """A urllib opener (proxies and redirects as usual) whose connections ``deadline``
    watches from the moment they are made."""
    class HTTPConnection(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req, context=self._context)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


class TooSlow(Exception):
    """A download that did not finish within its deadline."""


def fetch(url, dest, sha256, timeout=TIMEOUT, deadline=DEADLINE, progress=None):
    """Download ``url`` (a .gz file) to ``dest``, atomically, if its content has ``sha256``.

    The bytes go to a temporary file beside ``dest`` and are checked as they arrive; the
    file is renamed onto ``dest`` only after the decompressed content has the expected
    sha256. On any failure the temporary file is removed, ``dest`` is left as it was, and
    the error propagates: ``urllib.error.URLError`` / ``OSError`` /
    ``http.client.HTTPException`` for network trouble, :class:`TooSlow` past the deadline,
    ``ValueError`` for a truncated, corrupt or wrong file, :class:`DownloadError` if the
    file cannot be written here (no space, no permission).

    timeout : float, seconds to wait for a connection or for the next bytes
    deadline : float, seconds the whole file may take
    progress : None, or a callable progress(bytes so far, total bytes or None) called as they arrive
    """
    dest = Path(dest)
    digest = GzipSha256()
    too_slow = (f"not finished within the {deadline:g} s allowed per file (set "
                f"{DEADLINE_ENV}=SECONDS to allow longer)")
    with _Deadline(deadline) as limit:
        try:
            with atomic_file(dest, "wb", suffix=".part") as out:
                with _opener(limit).open(url, timeout=timeout) as response:
                    size = response.headers.get("Content-Length")
                    size = int(size) if size and size.isdigit() else None
                    got_bytes = 0
                    while piece := response.read1(_CHUNK):
                        digest.update(piece)
                        got_bytes += len(piece)
                        if progress is not None:
                            progress(got_bytes, size)
                        try:
                            out.write(piece)
                        except OSError as err:
                            raise DownloadError(f"cannot write {dest} ({err.strerror}); free "
                                                "some space or choose another data folder with "
                                                "data_dir= / MINIVAE_DATA") from None
                if limit.passed:        # the deadline closed the connection
                    raise TooSlow(too_slow)
                got = digest.hexdigest()
                if got != sha256:
                    raise ValueError(f"wrong checksum: the decompressed file has sha256 {got}, "
                                     f"expected {sha256}")
        except (OSError, ValueError, http.client.HTTPException):
            if limit.passed:            # the error came from the closed connection
                raise TooSlow(too_slow) from None
            raise
    return dest


def manual_instructions(name, dest_dir):
    """How to put the files of dataset ``name`` in place by hand (for error messages)."""
    files = ", ".join(f + ".gz" for f in FILES.values())
    text = (f"To install {TITLES[name]} by hand, put its four files ({files}; gzip-compressed "
            f"or not) in\n    {dest_dir}\nor point data_dir= / the MINIVAE_DATA environment "
            "variable at a folder that holds them (directly or in a "
            f"'{name}/' subfolder). Mirrors: {' '.join(MIRRORS[name])}")
    if name == "fashion-mnist":
        text += ("\nOn Debian/Ubuntu, 'apt-get install dataset-fashion-mnist' installs them "
                 "in /usr/share/datasets/fashion-mnist/, where minivae finds them.")
    return text


def _describe(err, timeout):
    """A short reason for one failed attempt."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"unreachable (no answer within {timeout:g} s)"
    if isinstance(err, urllib.error.URLError):
        return f"unreachable ({err.reason})"
    if isinstance(err, TooSlow):
        return f"too slow: {err}"
    return f"{type(err).__name__}: {err}"


def _make_folder(folder):
    """Create ``folder`` and its missing parents; return the ones created, deepest first."""
    created = []
    for d in [folder, *folder.parents]:
        if os.path.lexists(d):
            break
        created.append(d)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _remove_empty(created)
        reason = err.strerror or err
        raise DownloadError(f"cannot create the data folder {folder} ({reason}); choose "
                            "another with data_dir= / --data-dir or the MINIVAE_DATA "
                            "environment variable") from None
    return created


def _remove_empty(folders):
    for d in folders:                 # deepest first
        try:
            d.rmdir()
        except OSError:               # not empty (a file was downloaded), or already gone
            break


def download_dataset(name, dest_dir, mirrors=None, checksums=None, timeout=TIMEOUT,
                     deadline=None, quiet=False):
    r"""Download the IDX files of ``name`` that are missing from ``dest_dir``.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    dest_dir : path-like
        Folder for the ``.gz`` files; created if needed, and removed again if the download
        fails before any file is in it. A file already there (``NAME.gz`` or ``NAME``) is
        never downloaded again nor replaced.
    mirrors : list of str, optional
        Base URLs tried in order (see :func:`mirrors_for`).
    checksums : dict, optional
        ``{file name without .gz: sha256 of the decompressed bytes}``; default
        ``CHECKSUMS[name]``.
    timeout : float
        Seconds to wait for a connection or for the next bytes before giving up on a mirror.
    deadline : float, optional
        Seconds one file may take; default ``$MINIVAE_DOWNLOAD_DEADLINE`` or DEADLINE (300).
    quiet : bool
        If False, one line per downloaded file on stderr.

    Returns
    -------
    dest_dir : Path

    Raises
    ------
    DownloadError
        If some file could not be fetched from any mirror, or cannot be written in
        ``dest_dir``. Files that were fetched and verified stay; nothing else is left.
    InputError
        For an unknown dataset, a bad mirror URL, or a bad deadline.
    """
    if name not in CHECKSUMS:
        raise InputError(f"no download for dataset {name!r}; downloadable: {sorted(CHECKSUMS)}")
    checksums = CHECKSUMS[name] if checksums is None else checksums
    mirrors = mirrors_for(name, mirrors)
    deadline = deadline_from_env() if deadline is None else deadline
    if not (timeout > 0 and deadline > 0):
        raise InputError(f"timeout and deadline must be positive; got {timeout} and {deadline}")
    dest_dir = Path(dest_dir).expanduser()
    if os.path.lexists(dest_dir) and not os.path.isdir(dest_dir):
        raise DownloadError(f"the data folder {dest_dir} is a file, not a folder; move it, or "
                            "choose another folder with data_dir= / --data-dir or MINIVAE_DATA")
    with sigterm_raises():            # SIGTERM, like Ctrl-C, runs the clean-up below
        created = _make_folder(dest_dir)
        try:
            _download_missing(name, dest_dir, mirrors, checksums, timeout, deadline, quiet)
        except BaseException:         # DownloadError, Ctrl-C, SIGTERM: no empty folder left
            _remove_empty(created)
            raise
    return dest_dir


def _remove_stale_parts(dest_dir, fnames):
    """Remove the .part files a killed download (SIGKILL, power cut) left in dest_dir: those
    not written for STALE_PART seconds. A download in progress writes every few seconds."""
    now = time.time()
    try:
        parts = [p for fname in fnames for p in dest_dir.glob(f".{fname}.gz.*.part")]
    except OSError:                   # an unreadable folder: the download will say so
        return
    for part in parts:
        try:
            if now - part.stat().st_mtime > STALE_PART:
                part.unlink()
        except OSError:
            pass


def _download_missing(name, dest_dir, mirrors, checksums, timeout, deadline, quiet):
    _remove_stale_parts(dest_dir, checksums)
    down = {}       # mirror -> reason it is not asked again (unreachable, too slow)
    failures = {}   # file -> [(mirror, reason)]
    for fname, sha256 in checksums.items():
        if os.path.lexists(dest_dir / fname) or os.path.lexists(dest_dir / (fname + ".gz")):
            continue
        tried = []
        for mirror in mirrors:
            if mirror in down:
                tried.append((mirror, down[mirror] + " (skipped)"))
                continue
            url = mirror + fname + ".gz"
            if not quiet:
                print(f"minivae: downloading {url}", file=sys.stderr)
            bar = Progress(f"  {fname}.gz", 1, "bytes", enabled=wanted(quiet))
            try:
                fetch(url, dest_dir / (fname + ".gz"), sha256, timeout=timeout,
                      deadline=deadline, progress=lambda done, size: bar.update(done, size or done + 1))
                break
            except urllib.error.HTTPError as err:        # the server answered: mirror is up
                tried.append((mirror, _describe(err, timeout)))
            except (urllib.error.URLError, ConnectionError, TimeoutError, TooSlow) as err:
                down[mirror] = _describe(err, timeout)
                tried.append((mirror, down[mirror]))
            except (OSError, ValueError, http.client.HTTPException) as err:
                if isinstance(err, OSError) and err.filename is not None:
                    raise DownloadError(f"cannot write in the data folder {dest_dir} "
                                        f"({err.strerror}); choose another with data_dir= / "
                                        "--data-dir or MINIVAE_DATA") from None
                tried.append((mirror, _describe(err, timeout)))
            finally:
                bar.close()                              # end the progress line, done or not
        else:
            failures[fname + ".gz"] = tried
    if failures:
        lines = [f"could not download {len(failures)} {TITLES[name]} file(s):"]
        for fname, tried in failures.items():
            lines.append(f"  {fname}")
            lines += [f"    {mirror}: {reason}" for mirror, reason in tried]
        lines.append(manual_instructions(name, dest_dir))
        raise DownloadError("\n".join(lines))
