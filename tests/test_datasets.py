"""Tests for minivae.datasets: embedded data, IDX files, the data dir, binarization."""
import gzip
import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from minivae import datasets

from minivae.app import download
from idx_files import idx_bytes
from minivae.datasets import (DATASETS, Dataset, binarize, fixed_binarization, frey_split,
                              load_dataset, read_idx, resolve_data_dir)
from minivae.errors import DataError, InputError

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def check_dataset(d, n_train, n_test, image_shape, labelled=True):
    """The Dataset contract: flat float32 in [0, 1], int64 labels 0..9 or None."""
    assert isinstance(d, Dataset)
    dim = int(np.prod(image_shape))
    assert d.image_shape == image_shape
    assert d.x_train.shape == (n_train, dim) and d.x_test.shape == (n_test, dim)
    for x in (d.x_train, d.x_test):
        assert x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        head = x[:1000] * np.float32(255)
        assert_array_equal(np.round(head), head)                      # uint8 pixels / 255
    if labelled:
        for y, n in ((d.y_train, n_train), (d.y_test, n_test)):
            assert y.dtype == np.int64 and y.shape == (n,)
            assert set(np.unique(y)) == set(range(10))
    else:
        assert d.y_train is None and d.y_test is None


# ---------------------------------------------------------------------------- embedded data

def test_mnist_subset_is_shipped_with_mnist_shapes_and_all_ten_classes():
    d = load_dataset("mnist-subset")
    check_dataset(d, 10_000, 2_000, (1, 28, 28))
    assert d.name == "mnist-subset"
    assert d.x_train.max() == 1.0 and d.x_train.min() == 0.0
    assert d.x_train.mean() == pytest.approx(0.1307, abs=0.003)   # MNIST's well-known mean


def test_frey_split_is_a_fixed_seeded_90_10_partition_of_all_frames():
    d = load_dataset("frey")
    check_dataset(d, 1768, 197, (1, 28, 20), labelled=False)
    train, test = frey_split(1965)
    assert len(test) == 197 and len(np.intersect1d(train, test)) == 0
    assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1965))
    with np.load(datasets.EMBEDDED_DIR / "frey_faces.npz") as npz:
        images = npz["images"]
    assert images.shape == (1965, 28, 20) and images.dtype == np.uint8
    assert_array_equal(d.x_test * 255, images[test].reshape(197, 560))
    assert_array_equal(load_dataset("frey").x_train, d.x_train)        # same split every call


def test_embedded_frey_file_is_the_verified_original():
    digest = hashlib.sha256((datasets.EMBEDDED_DIR / "frey_faces.npz").read_bytes()).hexdigest()
    assert digest == "3c70375e0a9c4751ad49ad5f1f692bd094c46f133cf4aa8ea77d1cb14e1efcd1"


def test_unknown_dataset_name_lists_the_valid_ones():
    with pytest.raises(InputError, match="fashion-mnist"):
        load_dataset("mnist_subset")
    assert DATASETS == ("mnist-subset", "mnist", "fashion-mnist", "frey")


# ---------------------------------------------------------------------------- IDX files

def test_idx_header_is_magic_then_big_endian_sizes():
    data = idx_bytes(np.arange(6, dtype=np.int32).reshape(2, 3))
    assert data[:12] == bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    assert data[12:16] == bytes([0, 0, 0, 0]) and data[-4:] == bytes([0, 0, 0, 5])


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
       compress=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_read_idx_round_trips_gzip_and_raw_files(tmp_path_factory, shape, dtype, compress, seed):
    array = (np.random.default_rng(seed).standard_normal(shape) * 100).astype(dtype)
    data = idx_bytes(array)
    path = tmp_path_factory.mktemp("idx") / "file"           # no .gz suffix: magic decides
    path.write_bytes(gzip.compress(data) if compress else data)

    got = read_idx(path, sha256=hashlib.sha256(data).hexdigest())

    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    assert_array_equal(got, array)
    got[...] = 0                                              # a writable copy


def test_read_idx_names_the_file_when_it_is_truncated(tmp_path):
    data = idx_bytes(np.ones((3, 4, 4), np.uint8))
    raw, gz = tmp_path / "short-idx3-ubyte", tmp_path / "short-idx3-ubyte.gz"
    raw.write_bytes(data[:-5])
    gz.write_bytes(gzip.compress(data)[:-10])
    with pytest.raises(DataError, match=r"short-idx3-ubyte: the header says shape \(3, 4, 4\)"):
        read_idx(raw)
    with pytest.raises(DataError, match=r"short-idx3-ubyte\.gz is a truncated or corrupt gzip"):
        read_idx(gz)


def test_read_idx_rejects_bad_magic_unknown_type_and_wrong_checksum(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="bad is not an IDX file"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(DataError, match="unknown IDX type code 0x07"):
        read_idx(path)
    path.write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="sha256 of its decompressed bytes"):
        read_idx(path, sha256="0" * 64)
    assert_array_equal(read_idx(path), np.zeros(3, np.uint8))


# ---------------------------------------------------------------------------- data dir

def test_data_dir_argument_beats_env_var_beats_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("MINIVAE_DATA", raising=False)
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "minivae"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "minivae"

    monkeypatch.setenv("MINIVAE_DATA", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"

    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir(str(tmp_path / "arg")) == tmp_path / "arg"


def write_fake_mnist(folder, rng, compress=True):
    """Four tiny IDX files (5 train, 3 test images of 4 x 3); returns (arrays, checksums)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (5, 4, 3), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, 5, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 4, 3), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, 3, dtype=np.uint8)}
    sums = {}
    for fname, array in arrays.items():
        data = idx_bytes(array)
        sums[fname] = hashlib.sha256(data).hexdigest()
        if compress:
            (folder / (fname + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / fname).write_bytes(data)
    return arrays, sums


def test_idx_files_are_found_in_a_subfolder_or_directly_in_the_data_dir(tmp_path, monkeypatch):
    arrays, sums = write_fake_mnist(tmp_path / "flat", np.random.default_rng(0), compress=False)
    write_fake_mnist(tmp_path / "tree" / "mnist", np.random.default_rng(0))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)

    for data_dir in (tmp_path / "flat", tmp_path / "tree"):
        d = load_dataset("mnist", data_dir=data_dir, download=False)
        assert d.image_shape == (1, 4, 3)
        assert_array_equal(d.x_train * 255, arrays["train-images-idx3-ubyte"].reshape(5, 12))
        assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte"])
        assert d.y_train.dtype == np.int64 and d.x_test.dtype == np.float32


def test_env_var_data_dir_is_used_when_no_argument_is_given(tmp_path, monkeypatch):
    arrays, sums = write_fake_mnist(tmp_path / "env" / "mnist", np.random.default_rng(1))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    monkeypatch.setenv("MINIVAE_DATA", str(tmp_path / "env"))
    d = load_dataset("mnist", download=False)
    assert_array_equal(d.y_train, arrays["train-labels-idx1-ubyte"])


def test_another_datasets_files_are_not_taken_for_fashion_mnist(tmp_path, monkeypatch):
    _, sums = write_fake_mnist(tmp_path, np.random.default_rng(2))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {})
    assert load_dataset("mnist", data_dir=tmp_path, download=False).x_train.shape == (5, 12)
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert f"passed over {tmp_path}: it holds MNIST's files" in message
    assert str(tmp_path / "fashion-mnist") in message and "download=True" in message


def test_missing_files_without_download_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {})
    with pytest.raises(DataError, match="put its four files") as info:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    assert str(tmp_path / "fashion-mnist") in str(info.value)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert list(tmp_path.iterdir()) == []                    # nothing created, nothing fetched


# ---------------------------------------------------------------------------- bad local files

@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails at once with DownloadError (a refused loopback port), so a
    test that expects DataError proves that nothing was downloaded in its place."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))                    # bound, not listening: refused
    monkeypatch.setenv("MINIVAE_MIRROR", f"http://127.0.0.1:{sock.getsockname()[1]}/")
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {})
    yield
    sock.close()


def _spoil(folder, how, arrays):
    """Spoil train-images-idx3-ubyte(.gz) in ``folder``; return the path of the bad file."""
    gz = folder / "train-images-idx3-ubyte.gz"
    good = gzip.decompress(gz.read_bytes())
    if how == "swapped":                           # the test images under the train name
        gz.write_bytes((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    elif how == "truncated-gzip":
        gz.write_bytes(gz.read_bytes()[:-12])
    elif how == "truncated-idx":
        gz.write_bytes(gzip.compress(good[:-7]))
    elif how == "too-long":
        gz.write_bytes(gzip.compress(good + b"\0"))
    elif how == "wrong-magic":
        gz.write_bytes(gzip.compress(b"PK\x03\x04" + good[4:]))
    elif how == "checksum":                        # one pixel changed
        gz.write_bytes(gzip.compress(good[:-1] + bytes([good[-1] ^ 1])))
    elif how == "dimensions":                      # the same pixels as (5, 12) int8
        gz.write_bytes(gzip.compress(idx_bytes(arrays["train-images-idx3-ubyte"]
                                               .reshape(5, 12).view(np.int8))))
    elif how == "html":                            # an error page saved under the name
        gz.unlink()
        gz = folder / "train-images-idx3-ubyte"
        gz.write_bytes(b"<html>404 Not Found</html>")
    elif how == "folder":                          # unreadable: a folder with the name
        gz.unlink()
        gz.mkdir()
    elif how == "dangling-link":
        gz.unlink()
        gz.symlink_to(folder / "nowhere")
    return gz


BAD_FILES = {
    "swapped": "It is MNIST's t10k-images-idx3-ubyte: the files are swapped",
    "truncated-gzip": "is a truncated or corrupt gzip file",
    "truncated-idx": "but the file holds {n - 7}: it is truncated",
    "too-long": "it is longer than its header says",
    "wrong-magic": "is not an IDX file: it must start with two zero bytes",
    "checksum": "is not the expected file: the sha256 of its decompressed bytes",
    "dimensions": "(shape (5, 12) of int8)",
    "html": "is not an IDX file",
    "folder": "is a folder, not a file; move it away",
    "dangling-link": "cannot read",
}


@pytest.mark.parametrize("layout", ["flat", "subfolder"])
@pytest.mark.parametrize("how", sorted(BAD_FILES))
def test_a_bad_local_file_is_named_with_its_fault_and_never_replaced_by_a_download(
        tmp_path, monkeypatch, no_network, how, layout):
    folder = tmp_path / "data" / ("mnist" if layout == "subfolder" else "")
    arrays, sums = write_fake_mnist(folder, np.random.default_rng(3))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    bad = _spoil(folder, how, arrays)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))

    with pytest.raises(DataError) as info:
        load_dataset("mnist", data_dir=tmp_path / "data")

    message = str(info.value)
    n = len(idx_bytes(arrays["train-images-idx3-ubyte"]))
    assert str(bad) in message
    assert BAD_FILES[how].replace("{n - 7}", str(n - 7)) in message
    assert "could not download" not in message
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_an_unreadable_file_says_so(tmp_path, monkeypatch, no_network):
    _, sums = write_fake_mnist(tmp_path, np.random.default_rng(4))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    real_open = open

    def no_permission(path, *args, **kwargs):
        if str(path).endswith("t10k-labels-idx1-ubyte.gz"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", no_permission)
    with pytest.raises(DataError, match=r"cannot read .*t10k-labels-idx1-ubyte\.gz "
                                        r"\(Permission denied\); fix its permissions"):
        load_dataset("mnist", data_dir=tmp_path)


def test_a_folder_mixing_two_datasets_is_refused(tmp_path, monkeypatch, no_network):
    _, mnist = write_fake_mnist(tmp_path / "a", np.random.default_rng(5))
    _, fashion = write_fake_mnist(tmp_path / "b", np.random.default_rng(6))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", mnist)
    monkeypatch.setitem(download.CHECKSUMS, "fashion-mnist", fashion)
    mixed = tmp_path / "b" / "train-labels-idx1-ubyte.gz"
    mixed.write_bytes((tmp_path / "a" / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(DataError, match=r"b mixes the files of Fashion-MNIST and MNIST"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "b")


def test_a_partial_set_without_download_names_the_missing_files(tmp_path, monkeypatch,
                                                                no_network):
    _, sums = write_fake_mnist(tmp_path, np.random.default_rng(7))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"holds 3 of the 4 MNIST files \(missing: "
                                        r"t10k-labels-idx1-ubyte\) and download=False"):
        load_dataset("mnist", data_dir=tmp_path, download=False)
    with pytest.raises(download.DownloadError, match="could not download 1 MNIST file"):
        load_dataset("mnist", data_dir=tmp_path)               # only the missing one
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_a_failed_download_leaves_no_empty_folder(tmp_path, no_network):
    with pytest.raises(download.DownloadError):
        load_dataset("fashion-mnist", data_dir=tmp_path / "new" / "data")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(download.DownloadError):
        load_dataset("mnist", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []                   # no empty mnist/


def test_the_command_line_names_a_truncated_file_in_one_error_and_creates_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((3, 2, 2), np.uint8))[:-1])
    env = {**os.environ, "PYTHONPATH": str(REPO), "MINIVAE_MIRROR": "http://127.0.0.1:9/",
           "MINIVAE_DATA": str(tmp_path / "unused")}
    proc = subprocess.run([sys.executable, "-m", "minivae", "train", "--dataset", "mnist",
                           "--data-dir", str(data), "--out", str(tmp_path / "run"), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "could not download" not in proc.stderr
    assert f"{data / 'train-images-idx3-ubyte'}: the header says shape (3, 2, 2)" in proc.stderr
    assert "it is truncated. Delete it" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    assert [p.name for p in data.iterdir()] == ["train-images-idx3-ubyte"]


# ---------------------------------------------------------------------------- data dir forms

def test_tilde_in_the_data_dir_argument_and_the_env_var_means_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_data_dir("~/data") == tmp_path / "data"
    monkeypatch.setenv("MINIVAE_DATA", "~/env-data")
    assert resolve_data_dir() == tmp_path / "env-data"


def test_an_empty_env_var_is_unset_and_a_relative_xdg_cache_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MINIVAE_DATA", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")          # XDG: ignore relative
    assert resolve_data_dir() == tmp_path / ".cache" / "minivae"


def test_no_home_and_no_setting_is_a_data_error_saying_what_to_set(monkeypatch):
    for var in ("MINIVAE_DATA", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)

    def unknown_home(cls):
        raise RuntimeError("Could not determine home directory.")
    monkeypatch.setattr(Path, "home", classmethod(unknown_home))
    with pytest.raises(DataError, match="set MINIVAE_DATA, or pass data_dir="):
        resolve_data_dir()
    assert resolve_data_dir("/x") == Path("/x")


def test_an_empty_data_dir_is_an_input_error_not_the_current_folder():
    with pytest.raises(InputError, match="the data folder is an empty string"):
        load_dataset("mnist", data_dir="", download=False)


def test_a_data_dir_env_var_naming_a_file_is_a_data_error(tmp_path, monkeypatch, no_network):
    (tmp_path / "file").write_bytes(b"x")
    monkeypatch.setenv("MINIVAE_DATA", str(tmp_path / "file"))
    with pytest.raises(DataError, match=r"the data folder .*file is a file, not a folder"):
        load_dataset("fashion-mnist")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_another_datasets_files_under_this_datasets_folder_name_are_not_downloaded_around(
        tmp_path, monkeypatch, no_network):
    _, sums = write_fake_mnist(tmp_path / "fashion-mnist", np.random.default_rng(8))
    monkeypatch.setitem(download.CHECKSUMS, "mnist", sums)
    with pytest.raises(DataError, match=r"fashion-mnist holds MNIST's files, not "
                                        r"Fashion-MNIST's; move them .*mnist\)"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_a_bad_file_from_a_system_package_says_to_reinstall_it(tmp_path, monkeypatch, no_network):
    arrays, sums = write_fake_mnist(tmp_path / "usr", np.random.default_rng(9))
    monkeypatch.setitem(download.CHECKSUMS, "fashion-mnist", sums)
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {"fashion-mnist": (tmp_path / "usr",)})
    assert load_dataset("fashion-mnist", data_dir=tmp_path / "data").x_train.shape == (5, 12)
    _spoil(tmp_path / "usr", "checksum", arrays)
    with pytest.raises(DataError, match=r"usr/train-images-idx3-ubyte.gz is not the expected "
                                        r"file.*apt-get install --reinstall"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "data")
    (tmp_path / "usr" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="holds only 3 of the 4 Fashion-MNIST files"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_a_damaged_embedded_file_is_a_data_error_saying_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "EMBEDDED_DIR", tmp_path)
    with pytest.raises(DataError, match="mnist_subset.npz is missing.*Reinstall"):
        load_dataset("mnist-subset")
    (tmp_path / "frey_faces.npz").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(DataError, match="frey_faces.npz is damaged.*Reinstall"):
        load_dataset("frey")


@pytest.mark.parametrize("name", [None, "MNIST", "mnist ", ""])
def test_a_bad_dataset_name_is_an_input_error(name):
    with pytest.raises(InputError, match="choose one of"):
        load_dataset(name)


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="no shared/data/mnist here")
def test_full_mnist_loads_from_shared_data_and_starts_with_the_embedded_subset():
    d = load_dataset("mnist", data_dir=SHARED_DATA / "mnist", download=False)
    check_dataset(d, 60_000, 10_000, (1, 28, 28))
    subset = load_dataset("mnist-subset")
    assert_array_equal(d.x_train[:10_000], subset.x_train)
    assert_array_equal(d.y_test[:2_000], subset.y_test)
    same = load_dataset("mnist", data_dir=SHARED_DATA, download=False)   # mnist/ subfolder
    assert_array_equal(same.y_train, d.y_train)


@pytest.mark.skipif(not FASHION_SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package_matches_the_checksums(tmp_path):
    d = load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    check_dataset(d, 60_000, 10_000, (1, 28, 28))
    assert np.bincount(d.y_train).tolist() == [6000] * 10     # balanced classes
    assert not np.array_equal(d.x_test[:100], load_dataset("mnist-subset").x_test[:100])


# ---------------------------------------------------------------------------- binarization

def test_binarize_gives_zeros_and_ones_of_the_input_shape():
    x = load_dataset("mnist-subset").x_test[:50]
    b = binarize(x, np.random.default_rng(0))
    assert b.shape == x.shape and b.dtype == np.float32
    assert set(np.unique(b)) == {0.0, 1.0}
    assert np.all(b[x == 0.0] == 0.0) and np.all(b[x == 1.0] == 1.0)


def test_binarize_mean_over_draws_matches_the_probabilities():
    p = np.linspace(0.0, 1.0, 41, dtype=np.float32)
    n_draws = 4000
    draws = binarize(np.broadcast_to(p, (n_draws, p.size)), np.random.default_rng(1))
    standard_error = np.sqrt(p * (1 - p) / n_draws)
    assert np.all(np.abs(draws.mean(axis=0) - p) <= 4 * standard_error + 1e-7)


def test_fixed_binarization_defaults_to_the_test_seed_the_command_line_uses():
    x = np.full((20, 30), 0.5, np.float32)
    assert datasets.TEST_BINARIZATION_SEED == 12345
    assert_array_equal(fixed_binarization(x), binarize(x, np.random.default_rng(12345)))


def test_dynamic_binarization_differs_between_batches_and_fixed_one_is_reproducible():
    x = np.full((20, 30), 0.5, np.float32)
    rng = np.random.default_rng(7)
    assert not np.array_equal(binarize(x, rng), binarize(x, rng))
    assert_array_equal(fixed_binarization(x, seed=3), fixed_binarization(x, seed=3))
    assert_array_equal(fixed_binarization(x, seed=3), binarize(x, np.random.default_rng(3)))
    assert not np.array_equal(fixed_binarization(x, seed=3), fixed_binarization(x, seed=4))


def test_binarize_rejects_values_outside_the_unit_interval():
    with pytest.raises(InputError, match=r"\[0, 255\].*1/255"):
        binarize(np.array([0.0, 255.0]), np.random.default_rng(0))


def test_binarize_rejects_nan_and_out_of_range_values():
    from minivae.datasets import binarize
    rng = np.random.default_rng(0)
    for bad in (np.array([[0.5, np.nan]]), np.array([[0.5, 1.5]]), np.array([[-0.1, 0.5]])):
        with pytest.raises(InputError, match=r"\[0, 1\]"):
            binarize(bad, rng)
