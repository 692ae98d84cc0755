"""keras.optimizers follow Keras 3's defaults and update formulas (keras/src/optimizers/), step by step."""

import numpy
import pytest

from chainrule import keras
from chainrule.errors import ConfigError
from chainrule.nn import Parameter

GRADS = [numpy.array([0.5, -1.0, 2.0]), numpy.array([0.1, 0.3, -0.7]), numpy.array([-0.4, 0.2, 0.9])]
START = numpy.array([1.0, -2.0, 0.5])


def run(optimizer):
    """Three steps of ``optimizer`` on a float64 parameter with the fixed gradients."""
    p = Parameter(START.copy())
    optimizer.bind([p])
    for g in GRADS:
        p.grad = Parameter(g.copy(), requires_grad=False)
        optimizer.step()
    return p.numpy()


def keras_rmsprop(lr=0.001, rho=0.9, eps=1e-7, momentum=0.0, centered=False):
    w, v, m, a = START.copy(), numpy.zeros(3), numpy.zeros(3), numpy.zeros(3)
    for g in GRADS:
        v = rho * v + (1 - rho) * g ** 2
        denominator = v + eps
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a ** 2 + eps
        increment = lr * g / numpy.sqrt(denominator)  # ε inside the square root
        if momentum:
            m = momentum * m + increment
            w = w - m
        else:
            w = w - increment
    return w


def keras_adam(lr=0.001, b1=0.9, b2=0.999, eps=1e-7, weight_decay=0.0, amsgrad=False):
    w, m, v, vhat = START.copy(), numpy.zeros(3), numpy.zeros(3), numpy.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        w = w - w * weight_decay * lr  # decoupled, before the update
        alpha = lr * numpy.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g ** 2 - v) * (1 - b2)
        vhat = numpy.maximum(vhat, v)
        w = w - m * alpha / (numpy.sqrt(vhat if amsgrad else v) + eps)
    return w


def keras_sgd(lr=0.01, momentum=0.0, nesterov=False):
    w, m = START.copy(), numpy.zeros(3)
    for g in GRADS:
        if momentum:
            m = m * momentum - g * lr
            w = w + (m * momentum - g * lr if nesterov else m)
        else:
            w = w - g * lr
    return w


def keras_adagrad(lr=0.001, initial=0.1, eps=1e-7):
    w, acc = START.copy(), numpy.full(3, initial)
    for g in GRADS:
        acc = acc + g ** 2
        w = w - lr * g / numpy.sqrt(acc + eps)
    return w


def keras_adadelta(lr=0.001, rho=0.95, eps=1e-7):
    w, acc_g, acc_d = START.copy(), numpy.zeros(3), numpy.zeros(3)
    for g in GRADS:
        acc_g = rho * acc_g + (1 - rho) * g ** 2
        delta = -numpy.sqrt(acc_d + eps) / numpy.sqrt(acc_g + eps) * g
        acc_d = rho * acc_d + (1 - rho) * delta ** 2
        w = w + lr * delta
    return w


@pytest.mark.parametrize(("optimizer", "expected"), [
    (keras.optimizers.RMSprop(), keras_rmsprop()),
    (keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.9, centered=True),
     keras_rmsprop(lr=0.01, momentum=0.9, centered=True)),
    (keras.optimizers.Adam(), keras_adam()),
    (keras.optimizers.Adam(learning_rate=0.1, amsgrad=True), keras_adam(lr=0.1, amsgrad=True)),
    (keras.optimizers.AdamW(), keras_adam(weight_decay=0.004)),
    (keras.optimizers.SGD(), keras_sgd()),
    (keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), keras_sgd(0.1, 0.9)),
    (keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True), keras_sgd(0.1, 0.9, True)),
    (keras.optimizers.Adagrad(), keras_adagrad()),
    (keras.optimizers.Adadelta(learning_rate=1.0), keras_adadelta(lr=1.0)),
], ids=["rmsprop", "rmsprop-centered-momentum", "adam", "adam-amsgrad", "adamw", "sgd", "sgd-momentum",
        "sgd-nesterov", "adagrad", "adadelta"])
def test_three_steps_follow_kerass_formula(optimizer, expected):
    numpy.testing.assert_allclose(run(optimizer), expected, rtol=1e-12, atol=1e-15)


def test_rmsprop_reproduces_the_example_in_kerass_docstring():
    # keras.optimizers.RMSprop docs: var1 = 10, loss = var1² / 2, one minimize step at lr 0.1 -> 9.683772
    p = Parameter(numpy.array(10.0, dtype="float32"))
    optimizer = keras.optimizers.RMSprop(learning_rate=0.1).bind([p])
    p.grad = Parameter(p.numpy().copy(), requires_grad=False)
    optimizer.step()
    assert p.item() == pytest.approx(9.683772, abs=1e-6)


def test_defaults_are_kerass():
    config = {name: cls().get_config() for name, cls in [("sgd", keras.optimizers.SGD),
                                                          ("rmsprop", keras.optimizers.RMSprop),
                                                          ("adam", keras.optimizers.Adam),
                                                          ("adamw", keras.optimizers.AdamW),
                                                          ("adagrad", keras.optimizers.Adagrad),
                                                          ("adadelta", keras.optimizers.Adadelta)]}
    assert config["sgd"] == {"learning_rate": 0.01, "weight_decay": None, "momentum": 0.0, "nesterov": False}
    assert config["rmsprop"] == {"learning_rate": 0.001, "weight_decay": None, "rho": 0.9, "momentum": 0.0,
                                 "epsilon": 1e-7, "centered": False}
    assert config["adam"] == {"learning_rate": 0.001, "weight_decay": None, "beta_1": 0.9, "beta_2": 0.999,
                              "epsilon": 1e-7, "amsgrad": False}
    assert config["adamw"]["weight_decay"] == 0.004
    assert config["adagrad"] == {"learning_rate": 0.001, "weight_decay": None,
                                 "initial_accumulator_value": 0.1, "epsilon": 1e-7}
    assert config["adadelta"] == {"learning_rate": 0.001, "weight_decay": None, "rho": 0.95, "epsilon": 1e-7}


def test_learning_rate_is_settable_and_compile_by_name_gives_kerass_optimizer():
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    optimizer.learning_rate = 0.5
    assert optimizer.learning_rate == 0.5
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="rmsprop", loss="mse")
    assert type(model.optimizer) is keras.optimizers.RMSprop
    assert model.optimizer.param_groups[0]["epsilon"] == 1e-7


def test_frozen_parameters_are_left_alone_even_by_weight_decay():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), keras.layers.Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer=keras.optimizers.AdamW(weight_decay=0.5), loss="mse")
    before = model.get_weights()
    model.fit(numpy.ones((8, 3), "float32"), numpy.zeros((8, 1), "float32"), epochs=2, verbose=0)
    after = model.get_weights()
    numpy.testing.assert_array_equal(before[0], after[0])
    assert not numpy.array_equal(before[2], after[2])


def _two_parameters_one_step(optimizer):
    """One SGD-like step on two parameters whose gradients have norms 5 and 13."""
    a, b = Parameter(numpy.zeros(2)), Parameter(numpy.zeros(2))
    optimizer.bind([a, b])
    a.grad = Parameter(numpy.array([3.0, 4.0]), requires_grad=False)
    b.grad = Parameter(numpy.array([5.0, -12.0]), requires_grad=False)
    optimizer.step()
    return a.numpy(), b.numpy()


def test_kerass_gradient_clipping_by_norm_global_norm_and_value():
    a, b = _two_parameters_one_step(keras.optimizers.SGD(learning_rate=1.0, clipnorm=10.0))
    numpy.testing.assert_allclose(a, [-3.0, -4.0])  # norm 5 <= 10: kept
    numpy.testing.assert_allclose(b, numpy.array([-5.0, 12.0]) * 10 / 13)  # norm 13: scaled to 10
    a, b = _two_parameters_one_step(keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=7.0))
    scale = 7.0 / numpy.sqrt(25.0 + 169.0)  # both scaled by the norm of all gradients together
    numpy.testing.assert_allclose(numpy.concatenate([a, b]), -scale * numpy.array([3.0, 4.0, 5.0, -12.0]))
    a, b = _two_parameters_one_step(keras.optimizers.SGD(learning_rate=1.0, clipvalue=4.5))
    numpy.testing.assert_allclose(numpy.concatenate([a, b]), [-3.0, -4.0, -4.5, 4.5])
    assert keras.optimizers.Adam(clipnorm=1.0).get_config()["clipnorm"] == 1.0
    with pytest.raises(ConfigError, match="only one of"):
        keras.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


def test_hyperparameters_read_as_attributes():
    adam = keras.optimizers.Adam(beta_1=0.8)
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.weight_decay) == (0.8, 0.999, 1e-7, None)
    assert keras.optimizers.RMSprop().rho == 0.9 and keras.optimizers.SGD(momentum=0.9).momentum == 0.9
    assert keras.optimizers.AdamW().weight_decay == 0.004


def test_learning_rate_schedules_follow_kerass_formulas():
    schedules = keras.optimizers.schedules
    exponential = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert [exponential(t) for t in (0, 2, 4)] == pytest.approx([0.1, 0.1 * 0.5 ** 0.5, 0.05])
    assert schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True)(7) == pytest.approx(0.05)
    assert schedules.InverseTimeDecay(0.1, 2, 0.5)(4) == pytest.approx(0.1 / 2)
    piecewise = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [piecewise(t) for t in (0, 2, 3, 5, 6)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cosine = schedules.CosineDecay(0.1, decay_steps=10, alpha=0.1)
    assert [cosine(t) for t in (0, 5, 10, 20)] == pytest.approx([0.1, 0.1 * (0.9 * 0.5 + 0.1), 0.01, 0.01])
    warm = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=0.2, warmup_steps=4)
    assert [warm(t) for t in (0, 2, 4, 14)] == pytest.approx([0.0, 0.1, 0.2, 0.0])


def test_an_optimizer_steps_its_schedule_with_the_steps_taken_and_saves_it(tmp_path):
    optimizer = keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5))
    p = Parameter(numpy.zeros(1))
    optimizer.bind([p])
    moves = []
    for _ in range(3):
        before = p.numpy().copy()
        p.grad = Parameter(numpy.ones(1), requires_grad=False)
        optimizer.step()
        moves.append(float(before[0] - p.numpy()[0]))
    assert moves == pytest.approx([0.1, 0.05, 0.025])  # the rate of step t is schedule(t), t from 0
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    cosine = keras.optimizers.schedules.CosineDecay(0.01, 100)
    model.compile(optimizer=keras.optimizers.Adam(cosine), loss="mse")
    model.fit(numpy.ones((4, 2), "float32"), numpy.zeros((4, 1), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer.schedule).__name__ == "CosineDecay" and loaded.optimizer.iterations == 1
    assert loaded.optimizer.schedule.get_config() == model.optimizer.schedule.get_config()
