"""Progress: tqdm bars on a terminal, plain epoch lines otherwise, nothing at verbose 0."""

import io

import pytest

import chainrule as cr
from chainrule.train import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal():
    assert progress.make(0) is None
    assert type(progress.make(1, io.StringIO())) is progress.EpochLines
    assert type(progress.make(2, Terminal())) is progress.EpochLines


def test_tqdm_bar_on_a_terminal(blobs, mlp_factory):
    pytest.importorskip("tqdm")
    stream = Terminal()
    bar = progress.make(1, stream)
    assert type(bar) is progress.TqdmBar
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=30, verbose=0, callbacks=[bar])
    text = stream.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "accuracy: " in text


def test_format_logs():
    text = progress.format_logs({"loss": 0.123456, "lr": 0.001, "matrix": [[1]]})
    assert text == "loss: 0.1235 - lr: 0.001"


def test_initial_epoch_counts_from_where_it_starts(blobs, mlp_factory, capsys):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    history = model.fit(x, y, epochs=3, initial_epoch=1, verbose=1)
    assert history.epoch == [1, 2]
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 2/3", "Epoch 3/3"]


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam", "adadelta", "adagrad", "adamw"])
def test_every_optimizer_name_compiles_and_trains(name, blobs, mlp_factory):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=name)
    before = model.state_dict()["0.weight"].copy()
    model.train_on_batch(x, y)
    assert type(model.optimizer).__name__.lower() == name
    assert (model.state_dict()["0.weight"] != before).any()


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", "mae", "hinge"])
def test_binary_and_regression_loss_names(loss, blobs):
    x, y = blobs
    target = (y == 0).astype("float32")[:, None]
    if loss == "hinge":
        target = 2 * target - 1
    activation = "sigmoid" if loss == "binary_crossentropy" else None
    cr.manual_seed(0)
    model = cr.Sequential([cr.nn.Dense(8, activation="relu", input_shape=(4,)),
                           cr.nn.Dense(1, activation=activation, input_dim=8)])
    metrics = ["accuracy"] if activation else ["mae"]
    model.compile(loss=loss, optimizer=cr.optim.Adam(lr=0.02), metrics=metrics)
    history = model.fit(x, target, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    if activation:
        assert model.metrics[1].kind == "binary"
        assert history.history["accuracy"][-1] > 0.9
