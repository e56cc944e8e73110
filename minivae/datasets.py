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
``fashion-mnist/`` subfolder of it or directly in it, gzip-compressed or not; every file is
checked against the sha256 of the official decompressed bytes before it is used.

Binarization (a Bernoulli decoder models binary pixels): x_bin ~ Bernoulli(x), i.e.
x_bin = 1 with probability x. Training draws anew each epoch (dynamic binarization,
``binarize(x, rng)``); test sets use one fixed seeded draw (``fixed_binarization(x)``).
"""
import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np

from .download import CHECKSUMS, FILES, TITLES, download_dataset, manual_instructions

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
    ValueError
        Naming the file, if it is a truncated or corrupt gzip file, not IDX, of the wrong
        size for its header, or (with ``sha256``) not the expected file.
    """
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(f"{path} is a truncated or corrupt gzip file ({err}). Delete it; "
                             "minivae downloads it again, or copy a good one in its place."
                             ) from err
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ValueError(f"{path}: the sha256 of its decompressed bytes is {got}, expected "
                             f"{sha256}; it is corrupt or is another dataset's file. Delete or "
                             "replace it.")
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes; got "
                         f"{data[:4]!r}")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
                         f"{[hex(c) for c in _IDX_DTYPES]}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, ndim={ndim})")
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: the header says shape {shape} of {dtype.name}, i.e. "
                         f"{expected} bytes, but the file holds {len(data)}: it is truncated "
                         "or corrupt. Delete or replace it.")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))      # a writable copy, native byte order


def idx_bytes(array):
    r"""The IDX encoding of ``array`` (the inverse of :func:`read_idx`, before gzip).

    array : ndarray of 1 to 255 dimensions, of dtype uint8, int8, int16, int32, float32 or
    float64. Returns bytes: 0x00 0x00 <type code> <ndim>, the sizes as big-endian uint32,
    then the values big-endian in C order.
    """
    array = np.asarray(array)
    codes = {np.dtype(big).newbyteorder("="): code for code, big in _IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes or not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores 1-255 dimensional arrays of {sorted(map(str, codes))}; got "
                         f"{array.ndim} dimensions of {array.dtype}")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, _IDX_DTYPES[code]).tobytes()


# ---------------------------------------------------------------------------- data dir

def resolve_data_dir(data_dir=None):
    """The folder for downloaded datasets.

    ``data_dir`` if given, else ``$MINIVAE_DATA``, else ``$XDG_CACHE_HOME/minivae``, else
    ``~/.cache/minivae``. The folder is not created here.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "minivae"


def _candidate_dirs(name, root):
    """Folders that may hold the IDX files of ``name``, in the order they are tried."""
    return [root / name, root, *SYSTEM_DIRS.get(name, ())]


def _find_files(folder):
    """{file name: path} if ``folder`` holds all four files (.gz preferred), else None."""
    found = {}
    for fname in FILES.values():
        for path in (folder / (fname + ".gz"), folder / fname):
            if path.is_file():
                found[fname] = path
                break
        else:
            return None
    return found


def _to_unit_float(images):
    """uint8 images (N, ...) -> float32 (N, D) in [0, 1]."""
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= 255.0
    return x


def _read_idx_dataset(name, paths):
    """Read and verify the four files {file name: path} into a Dataset."""
    checksums = CHECKSUMS[name]
    # Small label files first: another dataset's files are rejected before the big reads.
    order = ("train_labels", "test_labels", "test_images", "train_images")
    arrays = {role: read_idx(paths[FILES[role]], sha256=checksums[FILES[role]]) for role in order}
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[split + "_images"]), len(arrays[split + "_labels"])
        if n_images != n_labels:
            raise ValueError(f"{TITLES[name]} {split}: {n_images} images but {n_labels} labels "
                             f"({paths[FILES[split + '_images']]})")
    return Dataset(name,
                   _to_unit_float(arrays["train_images"]),
                   arrays["train_labels"].astype(np.int64),
                   _to_unit_float(arrays["test_images"]),
                   arrays["test_labels"].astype(np.int64),
                   (1, *arrays["train_images"].shape[1:]))


def _load_idx(name, data_dir, download):
    root = resolve_data_dir(data_dir)
    problems = []
    for folder in _candidate_dirs(name, root):
        paths = _find_files(folder)
        if paths is None:
            continue
        try:
            return _read_idx_dataset(name, paths)
        except ValueError as err:        # corrupt, or another dataset's files: look further
            problems.append(str(err))
    dest = root / name
    if not download:
        looked = ", ".join(str(d) for d in _candidate_dirs(name, root))
        found = "".join(f"\n  unusable: {p}" for p in problems)
        raise FileNotFoundError(
            f"{TITLES[name]} not found (looked in {looked}) and download=False.{found}\n"
            f"Call load_dataset({name!r}) with download=True (the default) to download it, "
            f"or install it by hand.\n{manual_instructions(name, dest)}")
    download_dataset(name, dest)
    return _read_idx_dataset(name, _find_files(dest))


# ---------------------------------------------------------------------------- embedded data

def _load_embedded_npz(fname):
    path = EMBEDDED_DIR / fname
    if not path.is_file():
        raise FileNotFoundError(f"minivae's embedded data file {path} is missing: the package "
                                "is incomplete. Reinstall minivae (or, in a checkout, run "
                                "tools/make_embedded_data.py).")
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


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
        If the files are not found, download them (True) or raise FileNotFoundError (False).

    Raises
    ------
    ValueError for an unknown name or a corrupt file; FileNotFoundError when the files are
    missing and ``download=False``; :class:`minivae.download.DownloadError` when every mirror
    failed. The last two say where to put the files by hand.
    """
    if name == "mnist-subset":
        return _load_mnist_subset()
    if name == "frey":
        return _load_frey()
    if name in ("mnist", "fashion-mnist"):
        return _load_idx(name, data_dir, download)
    raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")


# ---------------------------------------------------------------------------- binarization

def binarize(x, rng):
    r"""A fresh Bernoulli draw of each pixel: x_bin ~ Bernoulli(x).

    x_bin = 1 if u < x else 0, with u ~ Uniform[0, 1), so P(x_bin = 1) = x. Call it once per
    epoch on the training set (dynamic binarization): the model never sees the same binary
    image twice, which keeps a Bernoulli decoder from overfitting.

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
        raise ValueError(f"binarize needs probabilities in [0, 1] (no NaN); got values in "
                         f"[{float(x.min()):g}, {float(x.max()):g}]. Scale uint8 pixels by 1/255.")
    u = rng.random(x.shape, dtype=np.float32)
    return (u < x).astype(np.float32)


def fixed_binarization(x, seed=0):
    r"""One fixed draw x_bin ~ Bernoulli(x), the same on every call: for test sets.

    Equal to ``binarize(x, np.random.default_rng(seed))``.
    """
    return binarize(x, np.random.default_rng(seed))
