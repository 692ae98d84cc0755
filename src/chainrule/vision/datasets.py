"""torchvision's ``datasets.MNIST`` over :func:`chainrule.data.mnist.load`.

Offline, without the IDX files, it serves the embedded 5,000-digit subset (4,000 to train, 1,000 to
test) and warns once that it does so.
"""

import warnings

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.data import Dataset, mnist
from chainrule.data.collate import default_collate

_warned = False


class MNIST(Dataset):
    """The MNIST digits: ``dataset[i]`` is ``(image, label)``, the image as ``transform`` makes it.

    Without a transform the image is a (28, 28) uint8 array; ``transforms.ToTensor()`` makes it a
    (1, 28, 28) float Tensor in [0, 1]. ``root`` is the directory of the IDX files (looked for in
    ``root``, ``root/MNIST/raw`` and the chainrule cache); ``download=True`` fetches them there.
    As torchvision's, ``data`` holds all images as a (N, 28, 28) uint8 Tensor, ``targets`` the labels
    as an int64 Tensor, and ``classes`` the class names.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, download=False, transform=None, target_transform=None):
        global _warned
        loaded = _load(root, download)
        if loaded.source == "embedded" and not _warned:
            _warned = True
            warnings.warn("MNIST: no IDX files found and none downloaded, so this is the embedded subset "
                          "of 5,000 digits (4,000 train, 1,000 test), not the full 70,000; pass "
                          "download=True where there is network", stacklevel=2)
        images, labels = loaded[0] if train else loaded[1]
        self._images, self._labels = images, labels.astype(numpy.int64)
        self.data, self.targets = Tensor(self._images), Tensor(self._labels)  # sharing the arrays' memory
        self.train, self.transform, self.target_transform = train, transform, target_transform
        self.source = loaded.source

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        image, label = self._images[index], int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices):
        if self.transform is None and self.target_transform is None:
            return self._images[indices], self._labels[indices]
        return default_collate([self[int(i)] for i in indices])


def _load(root, download):
    from pathlib import Path

    if root is not None:
        for directory in (Path(root).expanduser() / "MNIST" / "raw", Path(root).expanduser()):
            try:
                return mnist.load(directory, source="idx")
            except mnist.DataNotFoundError:
                continue
        if download:
            try:
                return mnist.load(Path(root).expanduser() / "MNIST" / "raw", download=True)
            except OSError:
                pass  # no network: fall back as torchvision cannot, to what we have
    return mnist.load()
