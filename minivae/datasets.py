r"""Datasets as flat float32 arrays in [0, 1], and binarization for Bernoulli decoders.

``load_dataset(name)`` returns a :class:`Dataset`; x is (N, D) with D = C * H * W pixels
scaled by 1/255, y holds int64 class labels (or None for Frey Face).

==================  ============  ==============  ===========================================
name                train / test  image_shape     where the data comes from
==================  ============  ==============  ===========================================
``mnist-subset``    10000 / 2000  (1, 28, 28)     shipped in the package: the first 10000
                                                  training and first 2000 test images of MNIST
``frey``            1768 / 197    (1, 28, 20)     shipped in the package (Frey Face, no labels)
``mnist``           60000 / 10000 (1, 28, 28)     data dir, else downloaded (download.py)
``fashion-mnist``   60000 / 10000 (1, 28, 28)     data dir, Debian's /usr/share/datasets, else
                                                  downloaded
==================  ============  ==============  ===========================================

Frey Face has no official split: minivae permutes its 1965 frames with
``np.random.default_rng(0).permutation(1965)`` and keeps the last 10% (197 frames) of that
order as the test set, so every run and every machine gets the same split.

The data dir (see :func:`resolve_data_dir`) is the ``data_dir`` argument, else the
``MINIVAE_DATA`` environment variable, else ``$XDG_CACHE_HOME/minivae`` (or
``~/.cache/minivae``). A dataset's four IDX files may sit in a ``mnist/`` or
``fashion-mnist/`` subfolder of it or directly in it, gzip-compressed or not.

The rule for files already on disk: **they are checked, and never silently replaced or
bypassed.** Every file is checked (readable, gzip intact, an IDX file of the size its
header declares, the sha256 of the official decompressed bytes) before it is used. A file
that fails raises :class:`~minivae.errors.DataError` naming the file, what is wrong with it
and what to do; nothing is downloaded in its place. The only files passed over are another
dataset's (MNIST's files in a folder searched for Fashion-MNIST, whose files have the same
names). Missing files, and only those, are downloaded, into the folder that holds the
others, else into ``DATA_DIR/NAME/``. A load that fails creates nothing and leaves nothing
behind (files that were downloaded and verified stay, so the next try resumes).

Binarization (a Bernoulli decoder models binary pixels): x_bin ~ Bernoulli(x), i.e.
x_bin = 1 with probability x. Training draws anew for every batch (dynamic binarization,
``binarize(x, rng)``); test sets use one fixed seeded draw (``fixed_binarization(x)``, seed
``TEST_BINARIZATION_SEED``).
"""
import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np

from .app import download
from .app.download import FILES, TITLES, manual_instructions
from .errors import DataError, InputError

DATASETS = ("mnist-subset", "mnist", "fashion-mnist", "frey")
TEST_BINARIZATION_SEED = 12345   # the one fixed draw of every binarized test split
DATA_ENV = "MINIVAE_DATA"
EMBEDDED_DIR = Path(__file__).resolve().parent / "_data"
# Where system packages install datasets (Debian: dataset-fashion-mnist).
SYSTEM_DIRS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}
FREY_SEED, FREY_TEST_FRACTION = 0, 0.1

# IDX type codes (the third byte of the magic number) and the big-endian dtype they mean.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class Dataset(NamedTuple):
    """A train/test split.

    name : str
    x_train : ndarray of shape (N_train, D), float32 in [0, 1]
    y_train : ndarray of shape (N_train,), int64, or None (no labels)
    x_test : ndarray of shape (N_test, D), float32 in [0, 1]
    y_test : ndarray of shape (N_test,), int64, or None
    image_shape : (C, H, W) with C * H * W == D; ``x.reshape(-1, *image_shape)`` gives images
    """
    name: str
    x_train: np.ndarray
    y_train: Optional[np.ndarray]
    x_test: np.ndarray
    y_test: Optional[np.ndarray]
    image_shape: Tuple[int, int, int]


# ---------------------------------------------------------------------------- IDX files

_FIX = "Delete it (minivae then downloads a good copy) or replace it with a good copy."


def _read_bytes(path):
    """The decompressed bytes of the file at ``path`` (gzip detected by its magic 1f 8b)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a file; move it away so that minivae "
                        "downloads the file, or put the file there") from None
    except OSError as err:
        raise DataError(f"cannot read {path} ({err.strerror or err}); fix its permissions, "
                        "or delete it so that minivae downloads it again") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise DataError(f"{path} is a truncated or corrupt gzip file ({err}). {_FIX}"
                            ) from None
    return data


def _parse_idx(path, data):
    """Check the IDX header of ``data`` (the bytes of ``path``) against its length.

    Returns (values, shape, dtype) with values a read-only big-endian view of ``data``.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path} is not an IDX file: it must start with two zero bytes; got "
                        f"{data[:4]!r}. {_FIX}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
                        f"{[hex(c) for c in _IDX_DTYPES]}: not an IDX file, or corrupt. {_FIX}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, ndim={ndim}). {_FIX}")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + math.prod(shape) * dtype.itemsize          # exact: no int64 overflow
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{path}: the header says shape {shape} of {dtype.name}, i.e. "
                        f"{expected} bytes, but the file holds {len(data)}: it is {what}. {_FIX}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape), shape, dtype


def _known_file(sha256):
    """(dataset, file name) of the official file whose decompressed bytes have ``sha256``."""
    for name, table in download.CHECKSUMS.items():
        for fname, digest in table.items():
            if digest == sha256:
                return name, fname
    return None


def read_idx(path, sha256=None):
    r"""Read an IDX file (the MNIST format), gzip-compressed or not.

    The header is 0x00 0x00 <type code> <ndim>, then ndim big-endian uint32 sizes, then the
    values, big-endian, in C order. Gzip is detected by its magic bytes (1f 8b), not by the
    file name.

    Parameters
    ----------
    path : path-like
    sha256 : str, optional
        If given, the sha256 (hex) that the decompressed bytes must have.

    Returns
    -------
    ndarray of shape given by the header (e.g. (N, 28, 28) uint8 images or (N,) labels),
    in native byte order.

    Raises
    ------
    DataError
        Naming the file and what to do, if it cannot be read, is a truncated or corrupt gzip
        file, is not IDX, is of the wrong size for its header, or (with ``sha256``) is not
        the expected file (if it is another known file, the message says which).
    """
    path = Path(path)
    data = _read_bytes(path)
    values, shape, dtype = _parse_idx(path, data)
    if sha256 is not None:
        _check_sha256(path, hashlib.sha256(data).hexdigest(), sha256, shape, dtype)
    return values.astype(dtype.newbyteorder("="))      # a writable copy, native byte order


def _check_sha256(path, got, expected, shape, dtype):
    if got != expected:
        known = _known_file(got)
        which = (f"It is {TITLES[known[0]]}'s {known[1]}: the files are swapped, misnamed or "
                 "from another dataset. Rename or replace it." if known else
                 f"It is corrupt or not the file its name says. {_FIX}")
        raise DataError(f"{path} is not the expected file: the sha256 of its decompressed "
                        f"bytes (shape {shape} of {dtype.name}) is {got}, expected {expected}. "
                        f"{which}")


# ---------------------------------------------------------------------------- data dir

def resolve_data_dir(data_dir=None):
    """The folder for downloaded datasets.

    ``data_dir`` if given, else ``$MINIVAE_DATA``, else ``$XDG_CACHE_HOME/minivae`` (an
    absolute XDG_CACHE_HOME only, as the XDG specification says), else
    ``~/.cache/minivae``. ``~`` is expanded. The folder is not created here.
    """
    if data_dir is not None:
        if str(data_dir).strip() == "":
            raise InputError("the data folder is an empty string; give a folder, or leave "
                             f"data_dir / --data-dir out to use ${DATA_ENV} or the cache")
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):
        try:
            cache = Path.home() / ".cache"
        except RuntimeError:
            raise DataError("no folder for datasets: the home folder is unknown (HOME is not "
                            f"set); set {DATA_ENV}, or pass data_dir= / --data-dir") from None
    return Path(cache) / "minivae"


def _check_folder(folder, what):
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DataError(f"the {what} {folder} is a file, not a folder; move it away, or choose "
                        f"another folder with data_dir= / --data-dir or {DATA_ENV}")


def _candidate_dirs(name, root):
    """Folders that may hold the IDX files of ``name``, in the order they are tried."""
    return [root / name, root, *SYSTEM_DIRS.get(name, ())]


def _present_files(folder):
    """{file name: path} of the dataset files found in ``folder`` (NAME.gz before NAME).

    Anything at such a path counts, also a folder or an unreadable file: it is reported,
    never silently passed over."""
    found = {}
    for fname in FILES.values():
        for path in (folder / (fname + ".gz"), folder / fname):
            if os.path.lexists(path):
                found[fname] = path
                break
    return found


def _to_unit_float(images):
    """uint8 images (N, ...) -> float32 (N, D) in [0, 1]."""
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= 255.0
    return x


class _OtherDatasetsFiles(Exception):
    """A folder holds another dataset's files (same names, other checksums)."""


def _read_folder(name, paths):
    """Read and verify the files {file name: path} of dataset ``name`` found in a folder.

    Returns {file name: array}. Raises _OtherDatasetsFiles if every file is another known
    dataset's file of the same name, DataError for anything else that is not right.
    """
    checksums = download.CHECKSUMS[name]
    arrays, others = {}, {}
    # Label files first: they are small, so a wrong or foreign folder shows early.
    for fname in sorted(paths, key=lambda f: "labels" not in f):
        path = paths[fname]
        data = _read_bytes(path)
        values, shape, dtype = _parse_idx(path, data)
        got = hashlib.sha256(data).hexdigest()
        known = _known_file(got)
        if known is not None and known[0] != name and known[1] == fname and not arrays:
            others[fname] = known[0]            # e.g. MNIST's file, looking for Fashion-MNIST
            continue
        if others:
            raise DataError(f"{path.parent} mixes the files of {TITLES[name]} and "
                            f"{TITLES[next(iter(others.values()))]}; keep each dataset in its "
                            "own folder")
        _check_sha256(path, got, checksums[fname], shape, dtype)
        arrays[fname] = values.astype(dtype.newbyteorder("="))
    if others:
        raise _OtherDatasetsFiles(next(iter(others.values())))   # e.g. "mnist"
    return arrays


def _dataset(name, arrays, folder):
    """The Dataset of the four verified arrays {file name: array}."""
    a = {role: arrays[fname] for role, fname in FILES.items()}
    for split in ("train", "test"):
        images, labels = a[split + "_images"], a[split + "_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{TITLES[name]} in {folder}: the {split} images have shape "
                            f"{images.shape} and the labels {labels.shape}; expected (N, H, W) "
                            "and (N,)")
    return Dataset(name,
                   _to_unit_float(a["train_images"]),
                   a["train_labels"].astype(np.int64),
                   _to_unit_float(a["test_images"]),
                   a["test_labels"].astype(np.int64),
                   (1, *a["train_images"].shape[1:]))


def _load_idx(name, data_dir, download_missing):
    root = resolve_data_dir(data_dir)
    _check_folder(root, "data folder")
    _check_folder(root / name, f"{TITLES[name]} folder")
    passed_over = {}                    # folder -> the dataset whose files it holds
    for folder in _candidate_dirs(name, root):
        paths = _present_files(folder)
        if not paths:
            continue
        system = folder in SYSTEM_DIRS.get(name, ())
        try:
            arrays = _read_folder(name, paths)
        except _OtherDatasetsFiles as other:
            passed_over[folder] = other.args[0]
            continue
        except DataError as err:
            if not system:
                raise
            raise DataError(f"{err} (A system package installed {folder}: reinstall it, e.g. "
                            "apt-get install --reinstall dataset-fashion-mnist.)") from None
        if len(arrays) == len(FILES):
            return _dataset(name, arrays, folder)
        missing = ", ".join(f for f in FILES.values() if f not in arrays)
        if system:
            raise DataError(f"{folder} holds only {len(arrays)} of the 4 {TITLES[name]} files "
                            f"(missing: {missing}); reinstall the package that put them there")
        if not download_missing:
            raise DataError(f"{folder} holds {len(arrays)} of the 4 {TITLES[name]} files "
                            f"(missing: {missing}) and download=False. Call load_dataset("
                            f"{name!r}) with download=True (the default) to download the "
                            f"missing ones, or install them by hand.\n"
                            f"{manual_instructions(name, folder)}")
        return _download_and_read(name, folder)
    dest = root / name
    if dest in passed_over:             # downloading would skip the files already there
        other = passed_over[dest]
        raise DataError(f"{dest} holds {TITLES[other]}'s files, not {TITLES[name]}'s; move them "
                        f"to a folder of their own (e.g. {root / other})")
    if not download_missing:
        looked = ", ".join(str(d) for d in _candidate_dirs(name, root))
        passed = "".join(f"\n  passed over {d}: it holds {TITLES[other]}'s files"
                         for d, other in passed_over.items())
        raise DataError(
            f"{TITLES[name]} not found (looked in {looked}) and download=False.{passed}\n"
            f"Call load_dataset({name!r}) with download=True (the default) to download it, "
            f"or install it by hand.\n{manual_instructions(name, dest)}")
    return _download_and_read(name, dest)


def _download_and_read(name, folder):
    """Download the files missing from ``folder``, then read and verify all four."""
    download.download_dataset(name, folder)
    try:
        return _dataset(name, _read_folder(name, _present_files(folder)), folder)
    except _OtherDatasetsFiles as other:
        raise DataError(f"{folder} holds {TITLES[other.args[0]]}'s files, not {TITLES[name]}'s; "
                        "move them to a folder of their own") from None


# ---------------------------------------------------------------------------- embedded data

def _load_embedded_npz(fname):
    path = EMBEDDED_DIR / fname
    fix = ("Reinstall minivae (in a checkout: git checkout minivae/_data, or run "
           "tools/make_embedded_data.py).")
    if not path.is_file():
        raise DataError(f"minivae's embedded data file {path} is missing: the package is "
                        f"incomplete. {fix}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as err:            # zipfile, format and OS errors of a damaged file
        raise DataError(f"minivae's embedded data file {path} is damaged ({err}). {fix}"
                        ) from None


def _load_mnist_subset():
    a = _load_embedded_npz("mnist_subset.npz")
    return Dataset("mnist-subset", _to_unit_float(a["x_train"]), a["y_train"].astype(np.int64),
                   _to_unit_float(a["x_test"]), a["y_test"].astype(np.int64),
                   (1, *a["x_train"].shape[1:]))


def frey_split(n, seed=FREY_SEED, test_fraction=FREY_TEST_FRACTION):
    """(train_idx, test_idx) for Frey Face: a seeded permutation, the last 10% as test.

    n_test = ceil(test_fraction * n): 197 of the 1965 frames.
    """
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(np.ceil(test_fraction * n))
    return perm[:n - n_test], perm[n - n_test:]


def _load_frey():
    images = _load_embedded_npz("frey_faces.npz")["images"]      # (1965, 28, 20) uint8
    train, test = frey_split(len(images))
    x = _to_unit_float(images)                                   # (1965, 560)
    return Dataset("frey", x[train], None, x[test], None, (1, *images.shape[1:]))


# ---------------------------------------------------------------------------- public entry

def load_dataset(name, data_dir=None, download=True):
    """Load a dataset by name as a :class:`Dataset` of flat float32 arrays in [0, 1].

    Parameters
    ----------
    name : one of ``DATASETS``: "mnist-subset", "mnist", "fashion-mnist", "frey"
    data_dir : path-like, optional
        Where to look for (and download) full MNIST / Fashion-MNIST; see
        :func:`resolve_data_dir`. Ignored for the embedded "mnist-subset" and "frey".
    download : bool
        If files are missing, download them (True) or raise DataError (False). Files that
        are present are checked and never replaced (see the module docstring).

    Raises
    ------
    InputError for an unknown name. DataError for a file that is unreadable, truncated,
    corrupt or not the expected one (the message names it and says what to do), a data
    folder that is a file, and missing files with ``download=False``.
    :class:`~minivae.errors.DownloadError` when every mirror failed. The messages for missing
    files say where to put them by hand.
    """
    if name == "mnist-subset":
        return _load_mnist_subset()
    if name == "frey":
        return _load_frey()
    if name in ("mnist", "fashion-mnist"):
        return _load_idx(name, data_dir, download)
    raise InputError(f"unknown dataset {name!r}; choose one of {DATASETS}")


# ---------------------------------------------------------------------------- binarization

def binarize(x, rng):
    r"""A fresh Bernoulli draw of each pixel: x_bin ~ Bernoulli(x).

    x_bin = 1 if u < x else 0, with u ~ Uniform[0, 1), so P(x_bin = 1) = x. Training calls it
    on every batch (dynamic binarization): the model never sees the same binary image twice,
    which keeps a Bernoulli decoder from overfitting.

    Parameters
    ----------
    x : ndarray of any shape, values in [0, 1]
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of x's shape, float32, values 0.0 or 1.0
    """
    x = np.asarray(x)
    if not np.all((x >= 0) & (x <= 1)):               # False for NaN too
        raise InputError(f"binarize needs probabilities in [0, 1] (no NaN); got values in "
                         f"[{float(x.min()):g}, {float(x.max()):g}]. Scale uint8 pixels by 1/255.")
    u = rng.random(x.shape, dtype=np.float32)
    return (u < x).astype(np.float32)


def fixed_binarization(x, seed=TEST_BINARIZATION_SEED):
    r"""One fixed draw x_bin ~ Bernoulli(x), the same on every call: for test sets.

    Equal to ``binarize(x, np.random.default_rng(seed))``. The default seed,
    ``TEST_BINARIZATION_SEED`` (12345), is the one the command line, the figures and the
    numbers in docs/results.md use.
    """
    return binarize(x, np.random.default_rng(seed))
