"""chainrule.distributed on one process: without init() (or with one rank) nothing changes."""

import json
import os
from pathlib import Path

import numpy
import pytest

import chainrule as cr
import fresh_process
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.errors import ConfigError

SRC = str(Path(cr.__file__).parents[1])


def run_python(code, **env):
    return fresh_process.run_python(code, **{"CHAINRULE_NO_NUMBA": "1", **env})


def test_import_chainrule_does_not_import_mpi4py():
    out = run_python("import sys, chainrule as cr; cr.distributed.rank(); "
                     "print('mpi4py' in sys.modules, 'chainrule.distributed' in sys.modules)")
    assert out.split() == ["False", "True"]


def test_without_init_there_is_one_rank_and_nothing_is_communicated():
    d = cr.distributed
    assert (d.rank(), d.size(), d.local_rank(), d.is_main(), d.active()) == (0, 1, 0, True, False)
    x = numpy.arange(3.0)
    reduced = d.allreduce(x)
    assert numpy.array_equal(reduced, x) and reduced is not x
    assert isinstance(d.allreduce(cr.tensor([1.0, 2.0]), op="sum"), cr.Tensor)
    assert d.allreduce(numpy.array([1, 2])).dtype == numpy.float64  # a mean of integers
    assert d.allreduce(numpy.array([1, 2]), op="max").dtype == numpy.int64
    d.barrier()
    with pytest.raises(ConfigError, match="op must be one of"):
        d.allreduce(x, op="product")


def test_init_refuses_a_bad_timeout_or_lr_rule_before_starting_mpi():
    with pytest.raises(ConfigError, match="positive number of seconds"):
        cr.distributed.init(timeout=-1)
    with pytest.raises(ConfigError, match="CHAINRULE_DIST_TIMEOUT"):
        os.environ["CHAINRULE_DIST_TIMEOUT"] = "soon"
        try:
            cr.distributed.init()
        finally:
            del os.environ["CHAINRULE_DIST_TIMEOUT"]
    with pytest.raises(ConfigError, match="scale_lr"):
        cr.distributed.init(scale_lr="sqrt")
    assert not cr.distributed.is_initialized()


def test_distributed_optimizer_on_one_process_steps_as_the_optimizer():
    def train(wrap):
        cr.manual_seed(0)
        model = cr.nn.Linear(3, 2)
        optimizer = cr.optim.Adam(model.parameters(), lr=0.1)
        optimizer = cr.distributed.Optimizer(optimizer) if wrap else optimizer
        for _ in range(3):
            optimizer.zero_grad()
            (model(cr.ones(4, 3)) ** 2).mean().backward()
            optimizer.step()
        return [p.numpy().copy() for p in model.parameters()], optimizer.state_dict()

    (plain, _), (wrapped, wrapped_state) = train(False), train(True)
    assert all(numpy.array_equal(a, b) for a, b in zip(plain, wrapped))
    assert wrapped_state["state"][0]["step"] == 3
    with pytest.raises(ConfigError, match="LBFGS"):
        cr.distributed.Optimizer(cr.optim.LBFGS(cr.nn.Linear(2, 1).parameters()))


@pytest.mark.parametrize("n", [7, 8, 10])
@pytest.mark.parametrize("replicas", [2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_matches_pytorch_without_shuffling(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(numpy.arange(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_alike_on_every_rank_and_anew_each_epoch():
    shards = [DistributedSampler(numpy.arange(12), 3, r, seed=4) for r in range(3)]
    first = numpy.concatenate([s.indices() for s in shards])
    assert sorted(first.tolist()) == list(range(12))
    for s in shards:
        s.set_epoch(1)
    assert not numpy.array_equal(numpy.concatenate([s.indices() for s in shards]), first)
    with pytest.raises(ConfigError, match="rank must lie"):
        DistributedSampler(numpy.arange(4), 2, 2)


def test_dataloader_takes_its_order_from_a_sampler():
    dataset = TensorDataset(numpy.arange(10))
    loader = DataLoader(dataset, batch_size=2, sampler=DistributedSampler(dataset, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ConfigError, match="shuffle=True or a sampler"):
        DataLoader(dataset, shuffle=True, sampler=DistributedSampler(dataset, 2, 0))


def test_sync_batch_norm_on_one_process_is_batch_norm():
    x = cr.tensor(numpy.random.default_rng(0).normal(size=(6, 3, 4)), requires_grad=True)
    outputs = []
    for layer in (cr.nn.BatchNorm1d(3), cr.nn.SyncBatchNorm(3), cr.nn.BatchNorm1d(3, sync=True)):
        layer.to(numpy.float64)
        y = layer(x)
        (y * y * x).sum().backward()
        outputs.append((y.numpy(), x.grad.numpy().copy(), layer.running_var.numpy().copy()))
        x.grad = None
    for other in outputs[1:]:
        for a, b in zip(outputs[0], other):
            numpy.testing.assert_array_equal(a, b)


FIT = """
import json, numpy, chainrule as cr
if {init}:
    cr.distributed.init()
cr.manual_seed(0)
x = numpy.random.default_rng(0).normal(size=(40, 3)).astype("float32")
layers = [cr.nn.Dense(4, activation="relu", input_shape=(3,)), cr.nn.Dropout(0.3), cr.nn.Dense(1)]
model = cr.Sequential(layers)
model.compile(loss="mse", optimizer="adam")
history = model.fit(x, x[:, :1], batch_size=8, epochs=2, validation_split=0.25, verbose=0)
print(json.dumps([history.history, [w.tolist() for w in model.get_weights()]]))
"""


def test_fit_after_init_on_one_process_is_fit_as_today():
    pytest.importorskip("mpi4py")
    assert json.loads(run_python(FIT.format(init=True))) == json.loads(run_python(FIT.format(init=False)))


def test_the_command_line_refuses_distributed_for_a_model_not_trained_by_fit(capsys):
    from chainrule.cli import main

    assert main(["train", "perceptron", "--distributed"]) == 1
    assert "not trained by Model.fit" in capsys.readouterr().err
    assert not cr.distributed.is_initialized()
