"""chainrule.utils.data yields Tensors; chainrule.vision reads our MNIST as torchvision's would (#12)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import download
from chainrule.utils.data import DataLoader, Dataset, TensorDataset, random_split
from chainrule.vision import datasets, transforms


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return cr.tensor([float(i)]), i * i


def test_loader_yields_tensors_from_tensor_datasets_and_custom_ones():
    x, y = cr.randn(10, 3), cr.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, num_workers=2, pin_memory=True)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(isinstance(t, cr.Tensor) for b in batches for t in b)
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == list(range(10))
    first = next(iter(DataLoader(Squares(), batch_size=3)))
    assert first[0].shape == (3, 1) and first[1].tolist() == [0, 1, 4] and first[1].dtype == np.int64
    with pytest.raises(TypeError, match="unexpected keyword"):
        DataLoader(Squares(), workers=2)


def test_random_split_gives_disjoint_subsets():
    train, val = random_split(TensorDataset(cr.arange(10)), [7, 3])
    seen = [int(train[i][0]) for i in range(len(train))] + [int(val[i][0]) for i in range(len(val))]
    assert sorted(seen) == list(range(10)) and len(DataLoader(train, batch_size=2)) == 4


def test_transforms_to_tensor_and_normalize():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    tensor = transforms.ToTensor()(image)
    assert tensor.shape == (1, 3, 4) and tensor.dtype == np.float32
    assert tensor.max().item() == pytest.approx(220 / 255)
    normal = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.25,))])(image)
    np.testing.assert_allclose(normal.numpy(), (tensor.numpy() - 0.5) / 0.25, rtol=1e-6)
    assert transforms.ToTensor()(np.zeros((2, 2, 3), np.uint8)).shape == (3, 2, 2)


def test_mnist_reads_idx_files_under_root_without_a_warning(tmp_path, recwarn):
    from chainrule.data import idx

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9], np.uint8)
    for prefix in ("train", "t10k"):
        idx.write(raw / f"{prefix}-images-idx3-ubyte", images)
        idx.write(raw / f"{prefix}-labels-idx1-ubyte", labels)
    data = datasets.MNIST(tmp_path, train=False, transform=transforms.ToTensor())
    image, label = data[2]
    assert len(data) == 6 and label == 4 and image.shape == (1, 28, 28) and data.source == "idx"
    np.testing.assert_allclose(image.numpy()[0], images[2] / 255, rtol=1e-6)
    assert not [w for w in recwarn if "embedded" in str(w.message)]


def test_mnist_offline_falls_back_to_the_embedded_subset_with_one_warning(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise OSError("no network in tests")

    monkeypatch.setattr(download, "open_url", offline)
    monkeypatch.setattr(datasets, "_warned", False)
    with pytest.warns(UserWarning, match="embedded subset"):
        train = datasets.MNIST(tmp_path, train=True, download=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        test = datasets.MNIST(tmp_path, train=False)
    assert not caught  # one warning per process, not one per data set
    assert (len(train), len(test)) == (4000, 1000) and train[0][0].shape == (28, 28)
