r"""Fetching MNIST and Fashion-MNIST from public mirrors, verified, atomically.

Each file is downloaded as the mirror serves it (``NAME.gz``) into a temporary file in the
destination folder, checked, and only then renamed into place with ``os.replace``:

    download -> .NAME.gz.XXXX.part -> gunzip + sha256 == CHECKSUMS[...] ? -> os.replace -> NAME.gz

The checksum is the sha256 of the **decompressed** bytes, so a file recompressed by someone
else (a Debian package, a lab copy made with ``gzip -9``) still verifies. On any failure
(connection refused, HTTP error, truncated gzip, wrong checksum) the temporary file is
removed, nothing already in the folder is touched, and the next mirror is tried. When every
mirror has failed, :class:`DownloadError` says which files are missing, what each mirror
answered, and where to put the files by hand.

The mirror list can be replaced, for a local copy or a test server, with the ``mirrors``
argument or the ``MINIVAE_MIRROR`` environment variable (URLs separated by spaces or
commas), e.g. ``MINIVAE_MIRROR=http://127.0.0.1:8000/mnist/``.
"""
import gzip
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from .errors import DownloadError

MIRROR_ENV = "MINIVAE_MIRROR"

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
_CHUNK = 1 << 20



def mirrors_for(name, mirrors=None):
    """The mirror URLs to try for dataset ``name``, in order.

    The ``mirrors`` argument wins, then the ``MINIVAE_MIRROR`` environment variable (URLs
    separated by spaces or commas), then the built-in :data:`MIRRORS`.
    """
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "").replace(",", " ").split()
        mirrors = env if env else MIRRORS[name]
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    return [m if m.endswith("/") else m + "/" for m in mirrors]


def sha256_of_gzip_content(path):
    """sha256 (hex) of the decompressed content of the gzip file at ``path``.

    Raises ValueError naming the file if it is not gzip, or is truncated or corrupt.
    """
    path = Path(path)
    with open(path, "rb") as f:
        if f.read(2) != _GZIP_MAGIC:
            raise ValueError(f"{path} is not a gzip file (the server sent something else, "
                             "e.g. an HTML error page)")
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path} is a truncated or corrupt gzip file ({err})") from err
    return digest.hexdigest()


def fetch(url, dest, sha256, timeout=30.0):
    """Download ``url`` (a .gz file) to ``dest``, atomically, if its content has ``sha256``.

    The bytes go to a temporary file beside ``dest``; it is renamed onto ``dest`` only
    after the decompressed content has the expected sha256. On any failure the temporary
    file is removed, ``dest`` is left as it was, and the error propagates:
    ``urllib.error.URLError`` / ``OSError`` for network trouble, ``ValueError`` for a
    truncated, corrupt or wrong file.
    """
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
        got = sha256_of_gzip_content(tmp)
        if got != sha256:
            raise ValueError(f"wrong checksum: the decompressed file has sha256 {got}, "
                             f"expected {sha256}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
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


def _describe(err):
    """A short reason for one failed attempt."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"unreachable ({err.reason})"
    return f"{type(err).__name__}: {err}"


def download_dataset(name, dest_dir, mirrors=None, checksums=None, timeout=30.0, quiet=False):
    r"""Download the IDX files of ``name`` that are missing from ``dest_dir``.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    dest_dir : path-like
        Folder for the ``.gz`` files; created if needed. A file already there (``NAME.gz``
        or ``NAME``) is never downloaded again nor replaced.
    mirrors : list of str, optional
        Base URLs tried in order (see :func:`mirrors_for`).
    checksums : dict, optional
        ``{file name without .gz: sha256 of the decompressed bytes}``; default
        ``CHECKSUMS[name]``.
    timeout : float
        Seconds to wait on a connection or a read before giving up on a mirror.
    quiet : bool
        If False, one line per downloaded file on stderr.

    Returns
    -------
    dest_dir : Path

    Raises
    ------
    DownloadError
        If some file could not be fetched from any mirror.
    """
    if name not in CHECKSUMS:
        raise ValueError(f"no download for dataset {name!r}; downloadable: {sorted(CHECKSUMS)}")
    checksums = CHECKSUMS[name] if checksums is None else checksums
    mirrors = mirrors_for(name, mirrors)
    dest_dir = Path(dest_dir).expanduser()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"cannot create the data folder {dest_dir} ({err}); choose "
                            "another with data_dir= or the MINIVAE_DATA environment "
                            "variable") from err

    down = {}       # mirror -> reason it could not be reached at all
    failures = {}   # file -> [(mirror, reason)]
    for fname, sha256 in checksums.items():
        if (dest_dir / fname).is_file() or (dest_dir / (fname + ".gz")).is_file():
            continue
        tried = []
        for mirror in mirrors:
            if mirror in down:
                tried.append((mirror, down[mirror] + " (skipped)"))
                continue
            url = mirror + fname + ".gz"
            if not quiet:
                print(f"minivae: downloading {url}", file=sys.stderr)
            try:
                fetch(url, dest_dir / (fname + ".gz"), sha256, timeout=timeout)
                break
            except urllib.error.HTTPError as err:        # the server answered: mirror is up
                tried.append((mirror, _describe(err)))
            except (urllib.error.URLError, ConnectionError, socket.timeout) as err:  # down
                down[mirror] = _describe(err)
                tried.append((mirror, down[mirror]))
            except (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException) as err:
                tried.append((mirror, _describe(err)))
        else:
            failures[fname + ".gz"] = tried
    if failures:
        lines = [f"could not download {len(failures)} {TITLES[name]} file(s):"]
        for fname, tried in failures.items():
            lines.append(f"  {fname}")
            lines += [f"    {mirror}: {reason}" for mirror, reason in tried]
        lines.append(manual_instructions(name, dest_dir))
        raise DownloadError("\n".join(lines))
    return dest_dir
