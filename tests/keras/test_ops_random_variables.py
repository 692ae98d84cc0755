"""keras.ops, keras.random and keras.Variable as Keras 3's guides use them ("Making new layers and models
via subclassing" runs with its imports changed). Keras's ops take NumPy's meanings: checked against
NumPy, and their gradients against finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.autograd import gradcheck
from chainrule.errors import ConfigError, ShapeError
from chainrule.keras import ops

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4)).astype(np.float32)
Y = rng.standard_normal((3, 4)).astype(np.float32)

NUMPY_TWINS = [  # (keras op, numpy function, arguments)
    ("sum", np.sum, (X,), {"axis": 1}), ("mean", np.mean, (X,), {"axis": 0, "keepdims": True}),
    ("max", np.max, (X,), {"axis": 1}), ("min", np.min, (X,), {}), ("prod", np.prod, (X,), {"axis": 0}),
    ("std", np.std, (X,), {"axis": 1}), ("var", np.var, (X,), {}),  # over the population, as NumPy
    ("argmax", np.argmax, (X,), {"axis": 1}), ("argmin", np.argmin, (X,), {"axis": 0}),
    ("transpose", np.transpose, (X,), {}), ("reshape", np.reshape, (X, (2, 6)), {}),
    ("expand_dims", np.expand_dims, (X, 1), {}), ("squeeze", np.squeeze, (X[:1],), {}),
    ("concatenate", np.concatenate, ([X, Y],), {"axis": 1}), ("stack", np.stack, ([X, Y],), {"axis": 2}),
    ("matmul", np.matmul, (X, Y.T), {}), ("dot", np.dot, (X[0], Y[0]), {}),
    ("maximum", np.maximum, (X, Y), {}), ("minimum", np.minimum, (X, 0.0), {}),
    ("clip", np.clip, (X, -0.5, 0.5), {}), ("abs", np.abs, (X,), {}), ("square", np.square, (X,), {}),
    ("exp", np.exp, (X,), {}), ("tanh", np.tanh, (X,), {}), ("add", np.add, (X, Y), {}),
    ("subtract", np.subtract, (X, 2), {}), ("multiply", np.multiply, (X, Y), {}),
    ("divide", np.divide, (X, 4.0), {}), ("power", np.power, (np.abs(X), 3), {}),
    ("take", np.take, (X, [2, 0]), {"axis": 1}), ("cumsum", np.cumsum, (X,), {"axis": 1}),
    ("swapaxes", np.swapaxes, (X, 0, 1), {}), ("greater", np.greater, (X, Y), {}),
    ("equal", np.equal, (X, X), {}), ("any", np.any, (X > 1,), {"axis": 0}), ("all", np.all, (X > -3,), {}),
    ("max", np.max, (X,), {"axis": 1, "initial": 0.5}), ("min", np.min, (X,), {"axis": 0, "initial": -0.5}),
    ("prod", np.prod, (X,), {"axis": 1, "dtype": "float64"}),
    ("cumsum", np.cumsum, (X,), {"dtype": "float64"}),
]


@pytest.mark.parametrize("name, twin, args, kwargs", NUMPY_TWINS, ids=[c[0] for c in NUMPY_TWINS])
def test_ops_mean_what_numpy_means(name, twin, args, kwargs):
    got = getattr(ops, name)(*args, **kwargs)
    want = twin(*args, **kwargs)
    assert isinstance(got, cr.Tensor)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    assert got.shape == np.shape(want)
    if "dtype" in kwargs:  # computed in the dtype asked for, as NumPy
        assert got.dtype == np.asarray(want).dtype


def test_keras_defaults_and_creation():
    np.testing.assert_allclose(ops.leaky_relu(np.array([-1.0, 2.0])).numpy(), [-0.2, 2.0])  # slope 0.2
    x = np.linspace(-3, 3, 7)
    tanh_gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(ops.gelu(x).numpy(), tanh_gelu, rtol=1e-6)  # approximate=True
    assert ops.one_hot([1, 0], 3).dtype == np.float32
    np.testing.assert_array_equal(ops.one_hot([1, 0], 3, axis=0).numpy(), np.eye(3)[[1, 0]].T)
    assert ops.ones((2, 3)).shape == (2, 3) and ops.zeros(4).dtype == np.float32
    assert ops.full((2,), 7).numpy().tolist() == [7, 7] and ops.shape(X) == (3, 4)
    assert ops.convert_to_tensor([1.5]).dtype == np.float32 and ops.cast(X, "float64").dtype == np.float64
    np.testing.assert_allclose(ops.softmax(X).numpy().sum(axis=-1), 1, rtol=1e-6)
    assert ops.stop_gradient(cr.tensor(X, requires_grad=True)).requires_grad is False
    assert [t.numpy().tolist() for t in ops.where(np.array([0, 3, 0, 1]))] == [[1, 3]]


def test_ops_are_differentiable():
    a = cr.tensor(X.astype(np.float64), requires_grad=True)
    b = cr.tensor(Y.astype(np.float64), requires_grad=True)
    assert gradcheck(lambda a, b: ops.sum(ops.matmul(ops.tanh(a), ops.transpose(b)) * 2, axis=0), (a, b))
    assert gradcheck(lambda a: ops.std(ops.concatenate([a, ops.square(a)], axis=1), axis=1), (a,))


def test_a_custom_layer_as_the_guide_writes_it():
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    layer = Linear(4, 2)
    y = layer(ops.ones((2, 2)))
    assert y.shape == (2, 4) and layer.weights == [layer.w, layer.b]
    np.testing.assert_allclose(y.numpy(), np.ones((2, 2)) @ layer.w.numpy(), rtol=1e-6)


def test_variables_assign_in_place_and_count_as_non_trainable():
    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    my_sum = ComputeSum(2)
    assert my_sum(ops.ones((2, 2))).numpy().tolist() == [2, 2]
    assert my_sum(ops.ones((2, 2))).numpy().tolist() == [4, 4]
    assert len(my_sum.non_trainable_weights) == 1 and my_sum.trainable_weights == []
    v = keras.Variable(5, name="var_a")
    assert v.assign(2) is v and v.numpy() == 2 and v.name == "var_a"
    w = keras.Variable("zeros", shape=(2, 3))
    assert w.assign_sub(np.ones(3)).numpy().tolist() == [[-1, -1, -1]] * 2 and w.trainable
    with pytest.raises(ShapeError, match="does not fit"):
        w.assign(np.ones(4))
    with pytest.raises(ShapeError, match="does not fit"):
        w.assign(np.ones(3))  # Keras's assign does not broadcast (its assign_add's sum does)
    with pytest.raises(ShapeError, match="does not fit"):
        keras.Variable("zeros", shape=(3,)).assign_add(np.ones((2, 3)))  # a sum larger than the variable


def test_get_config_and_from_config():
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    config = Linear(64, name="mine").get_config()
    assert config == {"name": "mine", "trainable": True, "dtype": "float32", "units": 64}
    again = Linear.from_config(config)
    assert again.units == 64 and again.name == "mine"


def test_random_draws_follow_keras_seeds():
    same = [keras.random.normal((3,), seed=7).numpy() for _ in range(2)]
    assert np.array_equal(*same)
    stream = keras.random.SeedGenerator(1337)
    first, second = keras.random.uniform((4,), seed=stream), keras.random.uniform((4,), seed=stream)
    assert not np.array_equal(first.numpy(), second.numpy())
    again = keras.random.SeedGenerator(1337)
    assert np.array_equal(keras.random.uniform((4,), seed=again).numpy(), first.numpy())
    assert np.abs(keras.random.truncated_normal((1000,), seed=1).numpy()).max() <= 2
    ints = keras.random.randint((50,), 0, 3, seed=2).numpy()
    assert ints.dtype == np.int32 and set(ints) <= {0, 1, 2}
    dropped = keras.random.dropout(ops.ones((400,)), 0.5, seed=3).numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0} and 120 < (dropped == 0).sum() < 280
    with pytest.raises(ConfigError, match="rate"):
        keras.random.dropout(ops.ones(3), 1.0)
    assert sorted(keras.random.shuffle(np.arange(5.0), seed=4).numpy()) == [0, 1, 2, 3, 4]


def test_fit_a_model_without_trainable_weights_computes_the_loss():
    class ActivityRegularization(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * ops.mean(inputs))
            return inputs

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ActivityRegularization()(inputs))
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.random((2, 3)), rng.random((2, 3))
    history = model.fit(x, y, verbose=0)
    want = np.mean((x - y) ** 2) + 1e-2 * x.mean()
    assert history.history["loss"][0] == pytest.approx(want, rel=1e-5)


def test_a_metric_of_your_own_as_keras_guide_writes_it():
    """keras.io's "Training & evaluation with the built-in methods": CategoricalTruePositives."""

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = ops.cast(ops.argmax(y_pred, axis=1), "int32") == ops.cast(y_true, "int32")
            self.true_positives.assign_add(ops.sum(ops.cast(hits, "float32")))

        def result(self):
            return self.true_positives

    metric = CategoricalTruePositives()
    assert float(metric([0, 2, 1], np.eye(3)[[0, 1, 1]]).numpy()) == 2  # standalone: update, result
    metric.reset_state()
    assert float(metric.result().numpy()) == 0 and metric.variables == [metric.true_positives]
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=[metric])
    x, y = rng.random((20, 4)).astype(np.float32), rng.integers(0, 3, 20)
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    counts = history.history["categorical_true_positives"]
    assert len(counts) == 2 and all(isinstance(c, float) and 0 <= c <= 20 for c in counts)
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert model.evaluate(x, y, verbose=0)[1] == float((predicted == y).sum())


def test_a_loss_of_your_own():
    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            return mse + ops.mean(ops.square(0.5 - y_pred), axis=-1) * self.regularization_factor

    y_true, y_pred = rng.random((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    want = np.mean(np.mean((y_true - y_pred) ** 2, -1) + 0.1 * np.mean((0.5 - y_pred) ** 2, -1))
    assert float(CustomMSE()(y_true, y_pred).numpy()) == pytest.approx(want, rel=1e-5)


def test_compile_without_a_loss_trains_on_the_layers_penalties():
    """Keras's compile() with no loss: the add_loss penalties are the whole loss; none at all says so."""

    class Penalised(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            self.add_loss(ops.sum(ops.square(self.w)))
            return inputs * self.w

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, Penalised()(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x = rng.random((2, 3)).astype(np.float32)
    history = model.fit(x, np.zeros((2, 3)), epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [3.0, 3 * 0.8 ** 2, 3 * 0.64 ** 2], rtol=1e-6)
    assert model.evaluate(x, x, verbose=0) == pytest.approx(3 * 0.512 ** 2, rel=1e-5)
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    plain.compile(optimizer="adam")
    with pytest.raises(ConfigError, match="no loss to compute.*add_loss"):
        plain.fit(x, np.zeros((2, 2)), verbose=0)
