"""Tests for minivae.download against a real HTTP server on 127.0.0.1 (no network needed)."""
import gzip
import hashlib
import http.server
import socket
import threading
from functools import partial

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from minivae import datasets, download
from idx_files import idx_bytes
from minivae.datasets import load_dataset
from minivae.download import DownloadError, download_dataset, fetch, mirrors_for
from minivae.errors import DataError, InputError

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def fake():
    """A tiny MNIST look-alike: 6 train and 4 test images of 5 x 4, as IDX bytes."""
    rng = np.random.default_rng(0)
    arrays = dict(zip(NAMES, (rng.integers(0, 256, (6, 5, 4), dtype=np.uint8),
                              rng.integers(0, 10, 6, dtype=np.uint8),
                              rng.integers(0, 256, (4, 5, 4), dtype=np.uint8),
                              rng.integers(0, 10, 4, dtype=np.uint8))))
    raw = {f: idx_bytes(a) for f, a in arrays.items()}
    sums = {f: hashlib.sha256(data).hexdigest() for f, data in raw.items()}
    return arrays, raw, sums


@pytest.fixture
def server(tmp_path, fake):
    """Serve tmp_path/www on 127.0.0.1: good/ (the fake files), truncated/, wrong/ (valid
    gzip of other bytes), empty/ (404s). Yields (base URL, list of requested paths)."""
    _, raw, _ = fake
    www = tmp_path / "www"
    for folder in ("good", "truncated", "wrong", "empty"):
        (www / folder).mkdir(parents=True)
    for fname, data in raw.items():
        gz = gzip.compress(data)
        (www / "good" / (fname + ".gz")).write_bytes(gz)
        (www / "truncated" / (fname + ".gz")).write_bytes(gz[:len(gz) // 2])
        (www / "wrong" / (fname + ".gz")).write_bytes(gzip.compress(data[:-1] + b"\x01"))
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):         # keep the test output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_mirror():
    """A URL on a port where nothing listens (bound, not listening: connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mnist/"
    sock.close()


@pytest.fixture
def fake_checksums(monkeypatch, fake):
    """Make the fake files the expected MNIST files."""
    monkeypatch.setitem(download.CHECKSUMS, "mnist", fake[2])
    return fake[2]


def files_in(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_load_dataset_downloads_verifies_and_returns_the_served_arrays(
        tmp_path, server, fake, fake_checksums, monkeypatch):
    base, requests = server
    arrays, raw, _ = fake
    monkeypatch.setenv("MINIVAE_MIRROR", base + "good/")
    data_dir = tmp_path / "data"

    d = load_dataset("mnist", data_dir=data_dir)

    assert d.image_shape == (1, 5, 4) and d.x_train.shape == (6, 20) and d.x_test.shape == (4, 20)
    assert_array_equal(d.x_train * 255, arrays["train-images-idx3-ubyte"].reshape(6, 20))
    assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert files_in(data_dir / "mnist") == sorted(f + ".gz" for f in NAMES)   # stored as .gz
    for fname in NAMES:
        assert gzip.decompress((data_dir / "mnist" / (fname + ".gz")).read_bytes()) == raw[fname]
    assert sorted(requests) == sorted(f"/good/{f}.gz" for f in NAMES)

    again = load_dataset("mnist", data_dir=data_dir, download=False)        # from the cache
    assert_array_equal(again.x_train, d.x_train)
    assert len(requests) == 4


@pytest.mark.parametrize("folder, reason", [("truncated", "truncated gzip file"),
                                            ("wrong", "wrong checksum"),
                                            ("empty", "HTTP 404")])
def test_a_bad_download_raises_and_leaves_nothing_behind(
        tmp_path, server, fake_checksums, folder, reason):
    base, requests = server
    dest = tmp_path / "data" / "mnist"
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", dest, mirrors=[base + folder + "/"], quiet=True)
    message = str(info.value)
    assert message.count(reason) == 4
    assert all(f + ".gz" in message for f in NAMES)
    assert files_in(dest) == []                               # no temp files, no bad files
    assert len(requests) == 4


def test_server_down_names_the_files_the_mirror_and_where_to_put_them(tmp_path, dead_mirror):
    dest = tmp_path / "data" / "mnist"
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", dest, mirrors=[dead_mirror], timeout=5, quiet=True)
    message = str(info.value)
    assert "could not download 4 MNIST file(s)" in message
    assert all(f + ".gz" in message for f in NAMES)
    assert dead_mirror in message and "unreachable" in message and "(skipped)" in message
    assert f"\n    {dest}\n" in message                        # where to put the files by hand
    assert files_in(dest) == []


def test_load_dataset_reports_a_failed_download_with_the_data_dir(
        tmp_path, dead_mirror, fake_checksums, monkeypatch):
    monkeypatch.setenv("MINIVAE_MIRROR", dead_mirror)
    with pytest.raises(DownloadError, match="Connection refused") as info:
        load_dataset("mnist", data_dir=tmp_path)
    assert str(tmp_path / "mnist") in str(info.value)


def test_an_existing_good_file_is_not_replaced_by_a_failed_download(tmp_path, server, fake):
    base, _ = server
    _, raw, sums = fake
    dest = tmp_path / "train-images-idx3-ubyte.gz"
    original = gzip.compress(raw["train-images-idx3-ubyte"], compresslevel=1)   # other bytes
    dest.write_bytes(original)

    for folder in ("truncated", "wrong", "empty"):
        with pytest.raises((ValueError, OSError)):
            fetch(base + folder + "/train-images-idx3-ubyte.gz", dest,
                  sums["train-images-idx3-ubyte"], timeout=5)
        assert dest.read_bytes() == original
        assert files_in(tmp_path) == ["train-images-idx3-ubyte.gz", "www"]


def test_files_already_present_are_neither_downloaded_nor_touched(
        tmp_path, server, fake, fake_checksums):
    base, requests = server
    _, raw, _ = fake
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "train-images-idx3-ubyte").write_bytes(raw["train-images-idx3-ubyte"])   # raw copy
    (dest / "t10k-images-idx3-ubyte.gz").write_bytes(b"not even gzip")             # bad copy

    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", dest, mirrors=[base + "wrong/"], quiet=True)

    assert "could not download 2 MNIST file(s)" in str(info.value)
    assert sorted(requests) == ["/wrong/t10k-labels-idx1-ubyte.gz",
                                "/wrong/train-labels-idx1-ubyte.gz"]
    assert (dest / "train-images-idx3-ubyte").read_bytes() == raw["train-images-idx3-ubyte"]
    assert (dest / "t10k-images-idx3-ubyte.gz").read_bytes() == b"not even gzip"
    assert files_in(dest) == ["t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]


@pytest.mark.parametrize("first", ["dead", "empty", "truncated"])
def test_the_next_mirror_is_used_when_the_first_fails(
        tmp_path, server, dead_mirror, fake, first):
    base, requests = server
    _, raw, sums = fake
    dest = tmp_path / "data"
    first_url = dead_mirror if first == "dead" else base + first + "/"

    download_dataset("mnist", dest, mirrors=[first_url, base + "good"], checksums=sums,
                     timeout=5, quiet=True)

    assert files_in(dest) == sorted(f + ".gz" for f in NAMES)
    for fname in NAMES:
        assert gzip.decompress((dest / (fname + ".gz")).read_bytes()) == raw[fname]
    good = [r for r in requests if r.startswith("/good/")]
    assert len(good) == 4
    assert len(requests) == (4 if first == "dead" else 8)      # a dead mirror is tried once


def test_download_false_never_touches_the_network(tmp_path, server, fake_checksums, monkeypatch):
    base, requests = server
    monkeypatch.setenv("MINIVAE_MIRROR", base + "good/")
    with pytest.raises(DataError, match="download=True") as info:
        load_dataset("mnist", data_dir=tmp_path / "data", download=False)
    assert str(tmp_path / "data" / "mnist") in str(info.value)
    assert requests == [] and files_in(tmp_path / "data") == []


def test_mirror_argument_beats_env_var_beats_built_in_list(monkeypatch):
    monkeypatch.delenv("MINIVAE_MIRROR", raising=False)
    assert mirrors_for("mnist")[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    assert len(mirrors_for("mnist")) == 3 and len(mirrors_for("fashion-mnist")) == 1
    monkeypatch.setenv("MINIVAE_MIRROR", "http://a.example/x, http://b.example/y/")
    assert mirrors_for("mnist") == ["http://a.example/x/", "http://b.example/y/"]
    assert mirrors_for("mnist", ["http://c.example"]) == ["http://c.example/"]


def test_checksum_tables_cover_the_four_files_of_each_dataset():
    for name in ("mnist", "fashion-mnist"):
        table = download.CHECKSUMS[name]
        assert sorted(table) == sorted(NAMES)
        assert all(len(s) == 64 and int(s, 16) >= 0 for s in table.values())
    assert set(download.CHECKSUMS["mnist"].values()).isdisjoint(
        download.CHECKSUMS["fashion-mnist"].values())
    assert datasets.DATASETS[1:3] == tuple(download.CHECKSUMS)
