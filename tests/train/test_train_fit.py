"""fit / evaluate / predict / train_on_batch: one loop, every input form, Keras's results."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset


def test_fit_returns_history_with_every_metric_and_val_metric(blobs, mlp_factory):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.01),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.history is history
    loss, accuracy = model.evaluate(x, y)
    assert accuracy > 0.9 and np.isfinite(loss)


def test_validation_split_on_class_sorted_data_sees_every_class(blobs, mlp_factory):
    x, y = blobs  # sorted by class: Keras's "last 10%" would hold out class 2 only

    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    seen = {"train": set(), "val": set()}
    original_train, original_test = model.train_step, model.test_step
    def recording(step, part):
        def wrapped(xb, yb):
            seen[part].update(np.asarray(yb).tolist())
            return step(xb, yb)
        return wrapped

    model.train_step = recording(original_train, "train")
    model.test_step = recording(original_test, "val")
    model.fit(x, y, epochs=1, validation_split=0.1, verbose=0)
    assert seen["val"] == {0, 1, 2}
    assert seen["train"] == {0, 1, 2}


def test_validation_split_is_seeded_and_disjoint(blobs):
    from chainrule.train import data_adapter

    x, y = blobs
    x = x + np.arange(len(x), dtype="float32")[:, None] * 1000  # make rows identifiable
    (xt, _), (xv, _), seed = data_adapter.split(x, y, 0.2)
    (xt2, _), (xv2, _), _ = data_adapter.split(x, y, 0.2, seed)
    np.testing.assert_array_equal(xv, xv2)
    assert len(xv) == 24 and len(xt) == 96
    assert not set(xt[:, 0].tolist()) & set(xv[:, 0].tolist())


def test_fit_is_the_hand_written_loop_of_train_step(blobs, mlp_factory):
    x, y = blobs
    cr.manual_seed(5)
    model = mlp_factory(dropout=0.3)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.SGD(lr=0.1, momentum=0.9))
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)

    cr.manual_seed(5)
    hand = mlp_factory(dropout=0.3)
    optimizer = cr.optim.SGD(hand.parameters(), lr=0.1, momentum=0.9)
    hand.train()
    for _ in range(2):
        for start in range(0, len(x), 32):
            out = hand(cr.Tensor(x[start:start + 32]))
            loss = cr.nn.losses.sparse_categorical_crossentropy(out, y[start:start + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for (name, a), b in zip(model.state_dict().items(), hand.state_dict().values()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


def test_fit_takes_datasets_and_loaders(blobs, mlp_factory):
    x, y = blobs
    for data in (TensorDataset(x, y), DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)):
        model = mlp_factory()
        model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.02),
                      metrics=["accuracy"])
        history = model.fit(data, epochs=3, validation_data=TensorDataset(x, y), verbose=0)
        assert history.history["val_accuracy"][-1] > 0.8
        assert model.predict(data).shape == (120, 3)


def test_predict_is_batched_eval_mode_and_numpy(blobs, mlp_factory):
    x, _ = blobs
    model = mlp_factory(dropout=0.5)
    a = model.predict(x, batch_size=7)
    b = model.predict(x, batch_size=120)
    assert isinstance(a, np.ndarray) and a.shape == (120, 3)
    np.testing.assert_allclose(a, b, rtol=1e-5)  # no dropout at prediction time
    assert model.training  # the mode is restored
    np.testing.assert_allclose(a.sum(1), 1, rtol=1e-5)


def test_float64_inputs_train_a_float32_model(blobs, mlp_factory):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x.astype("float64"), y, epochs=1, verbose=0)
    assert model.predict(x.astype("float64")).dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_train_on_batch_and_test_on_batch(blobs, mlp_factory):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.SGD(lr=0.5),
                  metrics=["accuracy"])
    first, _ = model.test_on_batch(x, y)
    for _ in range(20):
        loss, accuracy = model.train_on_batch(x, y)
    assert model.test_on_batch(x, y)[0] < first
    assert isinstance(model.train_on_batch(x, y, return_dict=True), dict)


def test_lazy_model_binds_its_optimizer_at_the_first_batch(blobs):
    x, y = blobs
    model = cr.Sequential([cr.nn.Dense(8, activation="relu"), cr.nn.Dense(3)])
    optimizer = cr.optim.Adam(lr=0.01)
    model.compile(loss="cross_entropy", optimizer=optimizer)
    assert not optimizer.param_groups
    model.fit(x, y, epochs=2, verbose=0)
    assert len(optimizer.param_groups[0]["params"]) == 4


def test_known_input_shape_binds_at_compile(mlp_factory):
    model = cr.Sequential([cr.nn.Dense(8, input_shape=(4,)), cr.nn.Dense(3)])  # second layer lazy
    model.compile(loss="mse", optimizer="sgd")
    assert len(model.optimizer.param_groups[0]["params"]) == 4


def test_model_wraps_a_plain_module_and_subclassing_works(blobs):
    x, y = blobs
    wrapped = cr.Model(cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.ReLU(), cr.nn.Linear(16, 3)))

    class Net(cr.Model):
        def __init__(self):
            super().__init__()
            self.hidden = cr.nn.Linear(4, 16)
            self.out = cr.nn.Linear(16, 3)

        def forward(self, x):
            return self.out(cr.relu(self.hidden(x)))

    for model in (wrapped, Net()):
        model.compile(loss="cross_entropy", optimizer=cr.optim.Adam(lr=0.02), metrics=["accuracy"])
        history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
        assert history.history["accuracy"][-1] > 0.8


def test_verbose_levels_are_monotonic(blobs, mlp_factory, capsys):
    x, y = blobs
    outputs = []
    for verbose in (0, 1, 2):
        model = mlp_factory()
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        model.fit(x, y, epochs=2, verbose=verbose, validation_split=0.2)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == ""
    lines1, lines2 = outputs[1].splitlines(), outputs[2].splitlines()
    assert len(lines1) == 2 and lines1[0].startswith("Epoch 1/2") and "val_accuracy" in lines1[0]
    assert len(lines2) > len(lines1) and "lr: " in outputs[2]


def test_mse_targets_of_shape_n_train_an_n_by_1_output(blobs):
    x, _ = blobs
    target = x.sum(1)  # shape (N,), output (N, 1): reshaped, never broadcast to (N, N)
    model = cr.Sequential([cr.nn.Dense(1, input_shape=(4,))])
    model.compile(loss="mse", optimizer=cr.optim.SGD(lr=0.01))
    history = model.fit(x, target, epochs=20, batch_size=20, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_validation_split_of_a_dataset(blobs, mlp_factory):
    x, y = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.Adam(lr=0.02),
                  metrics=["accuracy"])
    history = model.fit(TensorDataset(x, y), epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_lbfgs_by_name_trains_through_fit_with_a_closure():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], dtype="float32") + 1.0
    model = cr.Sequential([cr.nn.Dense(1, input_shape=(3,))])
    model.compile(loss="mse", optimizer="lbfgs")
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert history.history["loss"][-1] < 1e-6 * history.history["loss"][0]  # a least-squares fit, solved


def test_optimisers_by_name_get_keras_defaults_objects_keep_their_own():
    def compiled(optimizer):
        model = cr.Sequential([cr.nn.Dense(1, input_shape=(3,))])
        model.compile(loss="mse", optimizer=optimizer)
        return model.optimizer

    # Keras: SGD(learning_rate=0.01), RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-7)
    assert isinstance(compiled("SGD"), cr.optim.SGD) and compiled("sgd").param_groups[0]["lr"] == 0.01
    for rmsprop in (compiled("rmsprop"), compiled(None)):
        group = rmsprop.param_groups[0]
        assert (group["lr"], group["alpha"], group["eps"]) == (1e-3, 0.9, 1e-7)
    assert compiled("adadelta").param_groups[0]["rho"] == 0.95
    mine = cr.optim.SGD(lr=0.3)
    assert compiled(mine) is mine and mine.param_groups[0]["lr"] == 0.3


def test_validation_split_of_arrays_without_targets_names_the_missing_y(blobs, mlp_factory):
    x, _ = blobs
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(cr.errors.ShapeError, match=r"x and y need the same number of rows.*y None"):
        model.fit(x, epochs=1, validation_split=0.25, verbose=0)
