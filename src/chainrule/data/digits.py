"""scikit-learn's 8x8 handwritten digits (1,797 images, 16 grey levels), read without importing it."""

import logging

import numpy

from chainrule.data._source import INSTALL_HINT, DataNotFoundError, Loaded, package_file
from chainrule.errors import FormatError

logger = logging.getLogger("chainrule.data")

DIGITS_FILE = ("sklearn", "datasets", "data", "digits.csv.gz")


def load(dtype="float32"):
    """Load the digits as ``(x, y)``: ``x`` of shape ``(1797, 8, 8)`` with values 0-16, ``y`` int64 0-9.

    The file ships with scikit-learn (``chainrule[data]`` installs it); it is read with NumPy, so
    scikit-learn and SciPy are never imported. ``result.source`` is ``"embedded"`` and
    ``result.location`` the file read.
    """
    path = package_file(*DIGITS_FILE)
    if path is None:
        raise DataNotFoundError(f"digits.load: the 8x8 digits ship with scikit-learn, which is not "
                                f"installed; run `{INSTALL_HINT}`")
    try:
        table = numpy.loadtxt(path, delimiter=",", dtype=numpy.float64)
    except (ValueError, OSError, EOFError) as error:
        raise FormatError(f"digits file {str(path)!r}: expected rows of 65 numbers, could not parse it "
                          f"({error}); reinstall scikit-learn") from None
    if table.ndim != 2 or table.shape[1] != 65:
        raise FormatError(f"digits file {str(path)!r}: expected rows of 64 pixels and a label, got a table "
                          f"of shape {table.shape}; reinstall scikit-learn")
    logger.info("digits: using %s", path)
    x = table[:, :64].reshape(-1, 8, 8).astype(dtype)
    y = table[:, 64].astype(numpy.int64)
    return Loaded((x, y), "embedded", path)
