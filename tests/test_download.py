"""Tests for minivae.app.download against a real HTTP server on 127.0.0.1 (no network needed)."""
import errno
import gzip
import hashlib
import http.server
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from minivae import datasets

from minivae.app import atomic, download
from idx_files import idx_bytes
from minivae.datasets import load_dataset
from minivae.app.download import DownloadError, download_dataset, fetch, mirrors_for
from minivae.errors import DataError, InputError

REPO = Path(__file__).resolve().parents[1]
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


# ---------------------------------------------------------------------------- slow and silent servers

class _Server:
    """A TCP server on 127.0.0.1 whose ``answer(conn, request)`` runs in a thread for each
    connection; ``connections`` counts them. Bounded: each answer stops by itself."""

    def __init__(self, answer):
        self.answer, self.connections, self.threads = answer, 0, []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            t = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _answer(self, conn):
        with conn:
            conn.settimeout(5)
            try:
                request = conn.recv(4096)
                self.answer(conn, request, self.stop)
            except OSError:             # the client closed the connection: fine
                pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()


def _http_response(body):
    return (b"HTTP/1.0 200 OK\r\nContent-Type: application/gzip\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _drip(everything, interval):
    """An answer that sends the first bytes of ``everything`` at once (or none), then one
    byte every ``interval`` seconds, for at most 20 s."""
    def answer(conn, request, stop):
        head, rest = everything
        conn.sendall(head)
        deadline = time.monotonic() + 20
        for i in range(len(rest)):
            if stop.wait(interval) or time.monotonic() > deadline:
                return
            conn.sendall(rest[i:i + 1])
    return answer


def _silent(conn, request, stop):
    """Accept, read the request, and never answer (until the test ends, at most 20 s)."""
    stop.wait(20)


@pytest.fixture
def servers():
    made = []

    def make(answer):
        made.append(_Server(answer))
        return made[-1]
    yield make
    for s in made:
        s.close()


@pytest.mark.parametrize("drip_headers", [False, True])
def test_a_crawling_mirror_is_cut_off_at_the_deadline_and_not_asked_again(
        tmp_path, servers, fake, drip_headers):
    _, raw, sums = fake
    response = _http_response(gzip.compress(raw["train-images-idx3-ubyte"]))
    split = 0 if drip_headers else response.index(b"\r\n\r\n") + 4
    slow = servers(_drip((response[:split], response[split:]), interval=0.05))
    dest = tmp_path / "data"

    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download_dataset("mnist", dest, mirrors=[slow.url], checksums=sums, timeout=5,
                         deadline=0.3, quiet=True)
    elapsed = time.monotonic() - start

    message = str(info.value)
    assert "too slow: not finished within the 0.3 s allowed per file" in message
    assert "MINIVAE_DOWNLOAD_DEADLINE" in message and message.count("(skipped)") == 3
    assert slow.connections == 1
    assert elapsed < (len(response) - split) * 0.05 / 2  # cut off long before it would end
    assert not dest.exists()                            # no .part, no empty folder


def test_a_silent_mirror_costs_one_timeout_then_the_next_mirror_is_used(
        tmp_path, servers, server, fake):
    base, requests = server
    _, raw, sums = fake
    silent = servers(_silent)
    dest = tmp_path / "data"

    download_dataset("mnist", dest, mirrors=[silent.url, base + "good/"], checksums=sums,
                     timeout=1, quiet=True)

    assert silent.connections == 1                      # marked down after one timeout
    assert files_in(dest) == sorted(f + ".gz" for f in NAMES)
    assert len(requests) == 4


def test_a_silent_mirror_is_reported_with_the_timeout(tmp_path, servers, fake):
    silent = servers(_silent)
    with pytest.raises(DownloadError, match=r"unreachable \(no answer within 0.2 s\)") as info:
        download_dataset("mnist", tmp_path / "d", mirrors=[silent.url], checksums=fake[2],
                         timeout=0.2, quiet=True)
    assert str(info.value).count("(skipped)") == 3
    assert not (tmp_path / "d").exists()


def test_the_deadline_comes_from_the_environment(tmp_path, servers, fake, monkeypatch):
    _, raw, sums = fake
    response = _http_response(gzip.compress(raw["train-labels-idx1-ubyte"]))
    slow = servers(_drip((response[:20], response[20:]), interval=0.05))
    monkeypatch.setenv("MINIVAE_DOWNLOAD_DEADLINE", " 0.25 ")
    with pytest.raises(DownloadError, match="within the 0.25 s allowed"):
        download_dataset("mnist", tmp_path / "d", mirrors=[slow.url], checksums=sums,
                         quiet=True)


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_a_bad_deadline_in_the_environment_is_an_input_error(tmp_path, monkeypatch, value):
    monkeypatch.setenv("MINIVAE_DOWNLOAD_DEADLINE", value)
    with pytest.raises(InputError, match="MINIVAE_DOWNLOAD_DEADLINE=.*positive number"):
        download_dataset("mnist", tmp_path / "d", mirrors=["http://127.0.0.1:9/"], quiet=True)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_download_leaves_no_part_file_and_no_folder(tmp_path, servers, fake, sig):
    _, raw, sums = fake
    response = _http_response(gzip.compress(raw["train-images-idx3-ubyte"]))
    slow = servers(_drip((response[:60], response[60:]), interval=0.1))
    dest = tmp_path / "data" / "mnist"
    child = (f"from minivae.app.download import download_dataset\n"
             f"download_dataset('mnist', {str(dest)!r}, mirrors=[{slow.url!r}], "
             f"checksums={sums!r}, deadline=60, quiet=True)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", child], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(400):                            # wait for the .part file, <= 20 s
            if dest.exists() and any(p.suffix == ".part" for p in dest.iterdir()):
                break
            time.sleep(0.05)
        assert [p.suffix for p in dest.iterdir()] == [".part"]
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    assert code == (128 + signal.SIGTERM if sig == signal.SIGTERM else -signal.SIGINT)
    assert not (tmp_path / "data").exists()             # no .part, no empty folders


# ---------------------------------------------------------------------------- the data folder

def test_missing_files_are_downloaded_into_the_folder_that_holds_the_others(
        tmp_path, server, fake, fake_checksums, monkeypatch):
    base, requests = server
    arrays, raw, _ = fake
    for fname in NAMES[1:]:                             # three of the four, flat
        (tmp_path / (fname + ".gz")).write_bytes(gzip.compress(raw[fname]))
    monkeypatch.setenv("MINIVAE_MIRROR", base + "good/")
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", {})

    d = load_dataset("mnist", data_dir=tmp_path)

    assert requests == ["/good/train-images-idx3-ubyte.gz"]
    assert (tmp_path / "train-images-idx3-ubyte.gz").is_file()
    assert not (tmp_path / "mnist").exists()
    assert_array_equal(d.x_train * 255, arrays["train-images-idx3-ubyte"].reshape(6, 20))


def test_a_data_folder_that_is_a_file_is_refused_before_any_download(
        tmp_path, server, fake_checksums, monkeypatch):
    base, requests = server
    monkeypatch.setenv("MINIVAE_MIRROR", base + "good/")
    not_a_folder = tmp_path / "data"
    not_a_folder.write_bytes(b"x")
    with pytest.raises(DataError, match=r"data folder .*data is a file, not a folder"):
        load_dataset("mnist", data_dir=not_a_folder)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mnist").write_bytes(b"x")
    with pytest.raises(DataError, match=r"MNIST folder .*mnist is a file, not a folder"):
        load_dataset("mnist", data_dir=tmp_path / "d")
    with pytest.raises(DownloadError, match="is a file, not a folder"):
        download_dataset("mnist", not_a_folder, quiet=True)
    assert requests == [] and files_in(tmp_path) == ["d", "data", "www"]


def test_a_folder_that_cannot_be_created_is_reported_and_nothing_is_left(tmp_path, fake):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "file").write_bytes(b"x")
    with pytest.raises(DownloadError, match="cannot create the data folder"):
        download_dataset("mnist", tmp_path / "new" / "file" / "sub" / "mnist",
                         mirrors=["http://127.0.0.1:9/"], checksums=fake[2], quiet=True)
    assert files_in(tmp_path) == ["new"] and files_in(tmp_path / "new") == ["file"]


def test_a_folder_that_cannot_be_written_is_reported_once_without_trying_the_mirrors(
        tmp_path, server, fake, monkeypatch):
    base, requests = server

    def refuse(path, suffix):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(atomic, "_create_temporary", refuse)
    with pytest.raises(DownloadError, match=r"cannot write in the data folder .*Permission denied"):
        download_dataset("mnist", tmp_path / "d", mirrors=[base + "good/"], checksums=fake[2],
                         quiet=True)
    assert requests == [] and not (tmp_path / "d").exists()


def test_a_full_disk_stops_the_download_with_the_file_named(tmp_path, server, fake, monkeypatch):
    base, requests = server
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    dest = tmp_path / "d"
    with pytest.raises(DownloadError, match=r"cannot write .*train-images-idx3-ubyte.gz "
                                            r"\(No space left on device\)"):
        download_dataset("mnist", dest, mirrors=[base + "good/", base + "good/"],
                         checksums=fake[2], quiet=True)
    assert len(requests) == 1 and not dest.exists()


@pytest.mark.parametrize("value", ["ftp://example.org/mnist/", "mnist-mirror", "http://"])
def test_a_mirror_that_is_not_a_url_is_an_input_error_naming_its_source(monkeypatch, value):
    monkeypatch.setenv("MINIVAE_MIRROR", value)
    with pytest.raises(InputError, match=f"MINIVAE_MIRROR: {re.escape(repr(value))}"):
        mirrors_for("mnist")
    with pytest.raises(InputError, match="mirrors="):
        mirrors_for("mnist", [value])


def test_a_file_url_mirror_serves_a_local_copy(tmp_path, server, fake, fake_checksums, monkeypatch):
    _, raw, _ = fake
    monkeypatch.setenv("MINIVAE_MIRROR", (tmp_path / "www" / "good").as_uri())
    d = load_dataset("mnist", data_dir=tmp_path / "data")
    assert d.x_train.shape == (6, 20)
    assert files_in(tmp_path / "data" / "mnist") == sorted(f + ".gz" for f in NAMES)


def test_a_killed_downloads_old_part_file_is_removed_by_the_next_download(
        tmp_path, server, fake):
    base, _ = server
    dest = tmp_path / "d"
    dest.mkdir()
    old = dest / ".train-images-idx3-ubyte.gz.0123abcd.part"      # SIGKILL's leftover
    young = dest / ".t10k-images-idx3-ubyte.gz.4567cdef.part"     # another live download
    other = dest / ".notes.txt.89abcdef.part"                     # not ours
    for p in (old, young, other):
        p.write_bytes(b"partial")
    an_hour_and_more = time.time() - download.STALE_PART - 60
    os.utime(old, (an_hour_and_more, an_hour_and_more))
    os.utime(other, (an_hour_and_more, an_hour_and_more))

    download_dataset("mnist", dest, mirrors=[base + "good/"], checksums=fake[2], quiet=True)

    assert not old.exists() and young.exists() and other.exists()
    assert sorted(p.name for p in dest.glob("*.gz")) == sorted(f + ".gz" for f in NAMES)


def test_downloaded_files_and_folders_follow_the_umask(tmp_path, server, fake):
    base, _ = server
    old = os.umask(0o077)
    try:
        download_dataset("mnist", tmp_path / "data" / "mnist", mirrors=[base + "good/"],
                         checksums=fake[2], quiet=True)
    finally:
        os.umask(old)
    dest = tmp_path / "data" / "mnist"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in dest.iterdir()] == [0o600] * 4
