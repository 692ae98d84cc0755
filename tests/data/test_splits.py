import numpy as np
import pytest

from chainrule.data import to_categorical, train_val_test_split
from chainrule.errors import ShapeError


def class_sorted(n_per_class=50, classes=10):
    y = np.repeat(np.arange(classes), n_per_class)
    x = np.arange(len(y) * 3, dtype=np.float32).reshape(len(y), 3)
    return x, y


def test_return_structure_sizes_and_disjointness():
    x, y = class_sorted()
    splits = train_val_test_split(x, y, val=0.1, test=0.2, seed=0)
    assert len(splits) == 3 and all(len(split) == 2 for split in splits)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = splits
    assert (len(x_tr), len(x_va), len(x_te)) == (350, 50, 100)
    ids = [split[0][:, 0] // 3 for split in splits]  # the row number of every sample
    all_ids = np.concatenate(ids)
    assert sorted(all_ids.tolist()) == list(range(500))  # disjoint and complete
    for (_, ys), row in zip(splits, ids):
        np.testing.assert_array_equal(ys, y[row.astype(int)])  # x and y stay paired


def test_holdout_and_counts():
    x, y = class_sorted()
    splits = train_val_test_split(x, y, val=40, test=60, holdout=0.1, seed=0)
    assert len(splits) == 4
    assert [len(s[0]) for s in splits] == [350, 40, 60, 50]
    one = train_val_test_split(x, val=0.0, test=0.5, shuffle=False)
    assert len(one[0]) == 1 and len(one[1][0]) == 0
    np.testing.assert_array_equal(one[0][0], x[:250])  # no shuffle: consecutive slices
    np.testing.assert_array_equal(one[2][0], x[250:])


def test_stratified_splits_see_every_class_in_proportion():
    x, y = class_sorted(n_per_class=50, classes=10)
    splits = train_val_test_split(x, y, val=0.1, test=0.1, holdout=0.1, stratify=y, seed=3)
    for (_, ys), size in zip(splits, (350, 50, 50, 50)):
        counts = np.bincount(ys, minlength=10)
        assert len(ys) == size
        assert counts.min() >= 1  # every split sees every class
        expected = size / 10
        assert np.all(np.abs(counts - expected) <= 1), counts


def test_unstratified_class_sorted_data_without_shuffle_misses_classes():
    # the reason stratification (or shuffling) matters: the same call on sorted data loses classes
    x, y = class_sorted()
    _, _, (_, y_test) = train_val_test_split(x, y, shuffle=False)
    assert len(np.unique(y_test)) < 10


def test_stratify_with_uneven_classes_and_one_hot_labels():
    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    x = np.arange(100)
    splits = train_val_test_split(x, y, val=0.2, test=0.2, stratify=to_categorical(y), seed=0)
    for xs, ys in splits:
        np.testing.assert_array_equal(ys, y[xs])
        counts = np.bincount(ys, minlength=3)
        assert np.all(np.abs(counts - len(ys) * np.array([0.8, 0.15, 0.05])) <= 1), counts
        assert counts.min() >= 1


def test_seed_makes_the_split_repeatable():
    x, y = class_sorted()
    a = train_val_test_split(x, y, stratify=y, seed=5)
    b = train_val_test_split(x, y, stratify=y, seed=5)
    c = train_val_test_split(x, y, stratify=y, seed=6)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], c[0][0])


def test_split_errors():
    x, y = class_sorted()
    with pytest.raises(ShapeError, match="same first dimension"):
        train_val_test_split(x, y[:-1])
    with pytest.raises(ValueError, match="none for training"):
        train_val_test_split(x, val=0.5, test=0.5)
    with pytest.raises(ValueError, match="fraction"):
        train_val_test_split(x, val=1.5)
    with pytest.raises(ShapeError, match="one label per sample"):
        train_val_test_split(x, stratify=y[:10])
