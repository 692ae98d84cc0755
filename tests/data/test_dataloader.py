import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from chainrule.errors import ShapeError


class DictDataset(Dataset):
    """Samples are dicts, to exercise the dict collate."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"image": np.full((2, 3), i, dtype=np.float32), "label": i, "name": f"s{i}"}


def test_tensor_dataset_indexing_and_length_check():
    x, y = np.arange(12).reshape(6, 2), np.arange(6)
    data = TensorDataset(x, cr.tensor(y))  # Tensors are accepted
    assert len(data) == 6
    xi, yi = data[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == 4
    assert TensorDataset([[0.5, 1.5]]).arrays[0].dtype == np.float32  # Python floats: the default float
    assert TensorDataset(np.zeros(2)).arrays[0].dtype == np.float64  # a float64 array stays float64
    with pytest.raises(ShapeError, match=r"same first dimension.*\(6, 2\).*\(5,\)"):
        TensorDataset(x, np.arange(5))


def test_batches_cover_data_in_order_with_last_partial_batch():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)


def test_drop_last():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, drop_last=True)
    batches = [b[0] for b in loader]
    assert len(loader) == len(batches) == 2
    assert all(len(b) == 4 for b in batches)
    assert len(DataLoader(TensorDataset(np.arange(8)), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_a_permutation_that_changes_each_epoch_and_repeats_with_seed():
    data = TensorDataset(np.arange(100))
    loader = DataLoader(data, batch_size=32, shuffle=True, seed=7)
    epoch1 = np.concatenate([b[0] for b in loader])
    epoch2 = np.concatenate([b[0] for b in loader])
    assert sorted(epoch1.tolist()) == list(range(100))
    assert not np.array_equal(epoch1, np.arange(100))
    assert not np.array_equal(epoch1, epoch2)  # re-iterable, new order each epoch
    again = DataLoader(data, batch_size=32, shuffle=True, seed=7)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), epoch1)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), epoch2)


def test_shuffle_without_seed_follows_manual_seed():
    data = TensorDataset(np.arange(50))
    cr.manual_seed(3)
    first = np.concatenate([b[0] for b in DataLoader(data, batch_size=10, shuffle=True)])
    cr.manual_seed(3)
    second = np.concatenate([b[0] for b in DataLoader(data, batch_size=10, shuffle=True)])
    np.testing.assert_array_equal(first, second)
    cr.manual_seed(4)
    third = np.concatenate([b[0] for b in DataLoader(data, batch_size=10, shuffle=True)])
    assert not np.array_equal(first, third)


def test_tensor_dataset_batches_use_one_fancy_index_not_a_sample_loop(monkeypatch):
    data = TensorDataset(np.arange(10), np.arange(10) * 2)

    def no_per_sample_access(self, index):
        raise AssertionError("per-sample __getitem__ used")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_per_sample_access)
    xb, yb = next(iter(DataLoader(data, batch_size=5, shuffle=True, seed=0)))
    np.testing.assert_array_equal(yb, xb * 2)  # rows stay paired


def test_dict_and_tuple_collate():
    loader = DataLoader(DictDataset(5), batch_size=2)
    batch = next(iter(loader))
    assert set(batch) == {"image", "label", "name"}
    assert batch["image"].shape == (2, 2, 3) and batch["image"].dtype == np.float32
    np.testing.assert_array_equal(batch["label"], [0, 1])
    assert batch["name"] == ["s0", "s1"]
    tuples = default_collate([(np.zeros(3), 1.5), (np.ones(3), 2.5)])
    assert isinstance(tuples, tuple) and tuples[0].shape == (2, 3)
    assert tuples[1].dtype == np.float32  # Python floats take the library's default float
    lists = default_collate([[1, 2], [3, 4]])
    assert isinstance(lists, list)
    np.testing.assert_array_equal(lists[0], [1, 3])


def test_collate_errors_name_the_problem():
    with pytest.raises(ShapeError, match="one shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ShapeError, match="keys"):
        default_collate([{"a": 1}, {"b": 2}])


def test_custom_collate_fn_receives_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(int(s[0]) for s in samples)

    loader = DataLoader(TensorDataset(np.arange(7)), batch_size=3, collate_fn=collate)
    assert list(loader) == [0 + 1 + 2, 3 + 4 + 5, 6]
    assert seen == [3, 3, 1]


def test_loader_takes_a_plain_sequence_and_rejects_bad_batch_size():
    assert [b.tolist() for b in DataLoader([1, 2, 3], batch_size=2)] == [[1, 2], [3]]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader([1, 2], batch_size=bad)


def test_random_split_sizes_disjoint_and_seeded():
    data = TensorDataset(np.arange(10))
    parts = random_split(data, [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in parts] == [5, 3, 2]
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(10))
    again = random_split(data, [5, 3, 2], seed=1)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))
    assert [len(p) for p in random_split(data, [1 / 3, 1 / 3, 1 / 3], seed=0)] == [4, 3, 3]
    with pytest.raises(ValueError, match="adding up"):
        random_split(data, [5, 4])


def test_subset_batches_through_the_parent():
    data = TensorDataset(np.arange(10) * 10)
    subset = Subset(data, [9, 0, 4])
    assert subset[0][0] == 90
    assert [b[0].tolist() for b in DataLoader(subset, batch_size=2)] == [[90, 0], [40]]
    nested = Subset(subset, [2, 0])
    assert next(iter(DataLoader(nested, batch_size=2)))[0].tolist() == [40, 90]
