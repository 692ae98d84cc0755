"""Data: data sets, batching, splits, encoders and scalers, and the course's data sets.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> x, y = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20) % 2
    >>> (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = cr.data.train_val_test_split(x, y, stratify=y, seed=0)
    >>> loader = cr.data.DataLoader(cr.data.TensorDataset(x_tr, y_tr), batch_size=8, shuffle=True, seed=0)
    >>> [xb.shape for xb, yb in loader]
    [(8, 2), (8, 2)]

Data sets (``from chainrule.data import mnist``): :mod:`~chainrule.data.mnist`,
:mod:`~chainrule.data.digits`, :mod:`~chainrule.data.text`; the IDX format: :mod:`~chainrule.data.idx`.
Which source a loader used goes to the ``chainrule.data`` logger.
"""

from chainrule.data import digits, idx, mnist, text
from chainrule.data._cache import cache_dir
from chainrule.data._source import DataNotFoundError, Loaded
from chainrule.data.collate import default_collate
from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.data.download import DownloadError
from chainrule.data.loader import DataLoader
from chainrule.data.sampler import DistributedSampler
from chainrule.data.split import random_split, train_val_test_split
from chainrule.data.transforms import MinMax, NotFittedError, Standardize, from_categorical, to_categorical
from chainrule.data.vocab import CharVocab, UnknownCharacterError
