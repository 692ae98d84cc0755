"""PyTorch's ``generator=``: ``cr.Generator``, random_split's sizes and order, DataLoader, creation (#12)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError
from chainrule.utils.data import DataLoader, TensorDataset, random_split

FRACTIONS = [[0.8, 0.2], [0.33, 0.33, 0.34], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.2, 0.7], [0.5, 0.25, 0.25],
             [0.9, 0.05, 0.05], [0.6, 0.4]]


def _split_sizes(n, lengths, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty split warns, as in PyTorch
        return [len(part) for part in random_split(range(n), lengths, **kwargs)]


@pytest.mark.parametrize("n", [1, 7, 10, 11, 97, 1000])
@pytest.mark.parametrize("fractions", FRACTIONS, ids=str)
def test_fractional_lengths_cut_the_sizes_pytorch_cuts(n, fractions):
    torch = pytest.importorskip("torch")
    from torch.utils.data import random_split as torch_split

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = torch_split(range(n), fractions, generator=torch.Generator().manual_seed(0))
    expected = [len(p) for p in parts]
    assert _split_sizes(n, fractions, generator=cr.Generator().manual_seed(0)) == expected


def test_fractional_lengths_without_torch_follow_its_rule():
    # floor(n * fraction), then the remainder one by one from the first split on
    assert _split_sizes(10, [1 / 3, 1 / 3, 1 / 3]) == [4, 3, 3]
    assert _split_sizes(11, [0.5, 0.25, 0.25]) == [6, 3, 2]
    assert _split_sizes(3, [0.1, 0.1, 0.8]) == [1, 0, 2]


def test_an_empty_split_warns_as_pytorchs_does():
    with pytest.warns(UserWarning) as caught:
        random_split(range(3), [0.9, 0.05, 0.05])
    assert [str(w.message).split(" (")[0] for w in caught] == [
        "random_split: the split at index 1 is empty", "random_split: the split at index 2 is empty"]


def test_random_split_with_a_generator_repeats_and_covers_the_data():
    data = TensorDataset(cr.arange(20))
    first = random_split(data, [0.5, 0.3, 0.2], generator=cr.Generator().manual_seed(42))
    again = random_split(data, [0.5, 0.3, 0.2], generator=cr.Generator().manual_seed(42))
    other = random_split(data, [0.5, 0.3, 0.2], generator=cr.Generator().manual_seed(43))
    indices = [p.indices.tolist() for p in first]
    assert indices == [p.indices.tolist() for p in again] != [p.indices.tolist() for p in other]
    assert sorted(sum(indices, [])) == list(range(20))
    # the generator, not the library's stream: manual_seed in between changes nothing
    g = cr.Generator().manual_seed(42)
    cr.manual_seed(1)
    assert [p.indices.tolist() for p in random_split(data, [10, 6, 4], generator=g)] == indices


def test_random_split_refuses_bad_lengths_and_generators():
    with pytest.raises(ConfigError, match="fractions in \\[0, 1\\]"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(ConfigError, match="adding up to the data set's size 10"):
        random_split(range(10), [5, 4])
    with pytest.raises(ConfigError, match="not both"):
        random_split(range(10), [5, 5], generator=cr.Generator(), seed=0)
    with pytest.raises(TypeError, match="chainrule.Generator"):
        random_split(range(10), [5, 5], generator=42)


def test_generator_api_is_pytorchs():
    g = cr.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7 and g.device == cr.device("cpu")
    state = g.get_state()
    first = cr.rand(3, generator=g).tolist()
    g.set_state(state)
    assert cr.rand(3, generator=g).tolist() == first
    seed = g.seed()
    assert isinstance(seed, int) and g.initial_seed() == seed
    with pytest.raises(TypeError, match="int seed"):
        g.manual_seed(1.5)


@pytest.mark.parametrize("draw", [
    lambda g: cr.rand(2, 3, generator=g),
    lambda g: cr.randn((4,), generator=g, dtype=cr.float64),
    lambda g: cr.randint(0, 10, (5,), generator=g),
    lambda g: cr.randint(10, (5,), generator=g),
    lambda g: cr.randperm(8, generator=g),
    lambda g: cr.zeros(3, 2).normal_(0, 2, generator=g),
    lambda g: cr.zeros(6).uniform_(-1, 1, generator=g),
    lambda g: nn.init.uniform_(cr.zeros(4), generator=g),
    lambda g: nn.init.normal_(cr.zeros(4), generator=g),
    lambda g: nn.init.xavier_uniform_(cr.zeros(3, 4), generator=g),
    lambda g: nn.init.kaiming_normal_(cr.zeros(3, 4), generator=g),
], ids=["rand", "randn", "randint", "randint_high", "randperm", "normal_", "uniform_", "init.uniform_",
        "init.normal_", "init.xavier_uniform_", "init.kaiming_normal_"])
def test_draws_taking_a_generator_repeat_with_its_seed_whatever_the_library_stream(draw):
    cr.manual_seed(0)
    first = draw(cr.Generator().manual_seed(5)).tolist()
    cr.manual_seed(99)
    assert draw(cr.Generator().manual_seed(5)).tolist() == first
    assert draw(cr.Generator().manual_seed(6)).tolist() != first


def test_randint_and_randperm_take_pytorchs_keywords_only_after_the_size():
    torch = pytest.importorskip("torch")
    ours, theirs = cr.randint(3, 9, (2, 5), dtype=cr.int32), torch.randint(3, 9, (2, 5), dtype=torch.int32)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == "int32"
    assert 3 <= ours.min().item() and ours.max().item() < 9
    assert cr.randperm(4).dtype == np.int64 and torch.randperm(4).dtype == torch.int64


def test_dataloader_shuffles_from_its_generator_epoch_after_epoch():
    data = TensorDataset(cr.arange(12))

    def epochs(loader):
        return [[int(i) for batch in loader for i in batch[0].tolist()] for _ in range(3)]

    seen = epochs(DataLoader(data, batch_size=5, shuffle=True, generator=cr.Generator().manual_seed(3)))
    cr.manual_seed(123)  # the library's stream plays no part
    again = DataLoader(data, batch_size=5, shuffle=True, generator=cr.Generator().manual_seed(3))
    assert epochs(again) == seen
    assert all(sorted(order) == list(range(12)) for order in seen)
    assert len({tuple(order) for order in seen}) == 3  # each epoch draws on
    unshuffled = DataLoader(data, batch_size=5, generator=cr.Generator().manual_seed(3))
    assert epochs(unshuffled)[0] == list(range(12))
    with pytest.raises(TypeError, match="chainrule.Generator"):
        DataLoader(data, shuffle=True, generator="cpu")
