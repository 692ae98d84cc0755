"""Grad mode, inference mode and anomaly mode: PyTorch's call/context/decorator forms, per thread."""

import threading

import numpy
import pytest

import chainrule as cr
from chainrule.errors import AnomalyError


def _records():
    return (cr.tensor([1.0], requires_grad=True) * 2).requires_grad


@pytest.fixture(autouse=True)
def _default_modes():
    yield
    cr.set_grad_enabled(True)
    cr.autograd.set_detect_anomaly(False)


def test_set_grad_enabled_as_a_plain_call_sets_the_mode_until_set_again():
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled() and not _records()
    cr.set_grad_enabled(True)
    assert cr.is_grad_enabled() and _records()


def test_set_grad_enabled_as_a_context_restores_the_previous_mode():
    with cr.set_grad_enabled(False):
        assert not _records()
        with cr.set_grad_enabled(True):
            assert _records()
        assert not _records()
    assert _records()


def test_set_grad_enabled_as_a_decorator_applies_only_while_the_function_runs():
    @cr.set_grad_enabled(False)
    def inside():
        return _records()

    assert cr.is_grad_enabled()  # decorating changed nothing
    assert inside() is False
    assert cr.is_grad_enabled() and _records()


def test_no_grad_and_enable_grad_as_decorators():
    @cr.no_grad()
    def off():
        return _records()

    @cr.enable_grad()
    def on():
        return _records()

    assert off() is False
    with cr.no_grad():
        assert on() is True
        assert not _records()


def test_decorators_without_parentheses():
    @cr.no_grad
    def off():
        return _records()

    @cr.inference_mode
    def inferring():
        return _records(), cr.is_inference_mode_enabled()

    assert off() is False and inferring() == (False, True) and _records()


def test_inference_mode_as_context_and_decorator():
    with cr.inference_mode():
        assert cr.is_inference_mode_enabled() and not _records()
    assert not cr.is_inference_mode_enabled() and _records()

    @cr.inference_mode()
    def predict():
        return _records(), cr.is_inference_mode_enabled()

    assert predict() == (False, True)
    with cr.inference_mode(False):
        assert _records()


def test_the_mode_is_per_thread():
    seen = {}
    inside, release = threading.Event(), threading.Event()

    def other():
        seen["other at start"] = cr.is_grad_enabled()
        with cr.no_grad():
            inside.set()
            release.wait(5)
        seen["other after"] = cr.is_grad_enabled()

    thread = threading.Thread(target=other)
    with cr.no_grad():
        thread.start()
        inside.wait(5)
        release_then_records = _records()  # this thread: still no_grad
    seen["main while other in no_grad"] = _records()
    release.set()
    thread.join()
    assert seen == {"other at start": True, "main while other in no_grad": True, "other after": True}
    assert release_then_records is False


def _train(seed, steps=60, barrier=None):
    """A small model trained by hand (forward, backward, step, and a no_grad evaluation each step)."""
    rng = numpy.random.default_rng(seed)
    x = rng.normal(size=(32, 5)).astype("float64")
    y = (x @ rng.normal(size=(5, 1))).astype("float64")
    w = cr.tensor(rng.normal(size=(5, 8)), requires_grad=True)
    v = cr.tensor(rng.normal(size=(8, 1)), requires_grad=True)
    optimizer = cr.optim.SGD([w, v], lr=0.01, momentum=0.9)
    losses = []
    for _ in range(steps):
        if barrier is not None:
            barrier.wait(5)  # make the two threads' steps interleave
        loss = ((cr.tanh(cr.tensor(x) @ w) @ v - cr.tensor(y)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with cr.no_grad():
            losses.append(float(((cr.tanh(cr.tensor(x) @ w) @ v - cr.tensor(y)) ** 2).mean().item()))
    return losses, w.detach().numpy().copy(), v.detach().numpy().copy()


def test_two_threads_training_give_exactly_the_sequential_results():
    expected = [_train(seed) for seed in (1, 2)]
    results, errors = [None, None], []
    barrier = threading.Barrier(2)

    def run(i, seed):
        try:
            results[i] = _train(seed, barrier=barrier)
        except BaseException as error:  # noqa: BLE001 - reported below by the main thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, seed)) for i, seed in enumerate((1, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, expected):
        assert got[0] == want[0]
        numpy.testing.assert_array_equal(got[1], want[1])
        numpy.testing.assert_array_equal(got[2], want[2])
    assert cr.is_grad_enabled()


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_two_threads_fitting_keras_models_match_sequential_runs(kind):
    def make(seed):
        cr.manual_seed(seed)
        rng = numpy.random.default_rng(seed)
        if kind == "dense":
            model = cr.Sequential([cr.nn.Dense(8, activation="tanh", input_shape=(4,)), cr.nn.Dense(1)])
            x = rng.normal(size=(64, 4)).astype("float32")
        else:  # the convolution and pooling kernels, with their scratch memory
            model = cr.Sequential([cr.nn.Conv2d(1, 4, 3), cr.nn.ReLU(), cr.nn.MaxPool2d(2), cr.nn.Flatten(),
                                   cr.nn.Linear(100, 1)])
            x = rng.normal(size=(64, 1, 12, 12)).astype("float32")
        model.compile(loss="mse", optimizer="adam")
        return model, x, rng.normal(size=(64, 1)).astype("float32")

    def fit(job):
        model, x, y = job
        return model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]

    expected = [fit(make(seed)) for seed in (3, 4)]
    jobs = [make(seed) for seed in (3, 4)]
    results = [None, None]
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, fit(jobs[i]))) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_backward_leaves_other_threads_recording():
    # the engine runs vjps with recording off: in its own thread only
    started, done = threading.Event(), threading.Event()
    seen = []

    class Slow(cr.autograd.Op):
        def forward(self, a):
            return a * 1.0

        def vjp(self, g):
            started.set()
            done.wait(5)
            return (g,)

    x = cr.tensor([1.0], requires_grad=True)
    y = Slow()(x)
    thread = threading.Thread(target=lambda: y.backward())
    thread.start()
    started.wait(5)
    seen.append(_records())
    done.set()
    thread.join()
    assert seen == [True]


def test_detect_anomaly_names_the_op_and_the_line_of_a_forward_nan():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), numpy.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError) as info:
            cr.sqrt(x) + 1  # the line named
    message = str(info.value)
    assert "sqrt" in message and "nan" in message
    assert "test_modes.py" in message and "cr.sqrt(x) + 1" in message
    assert not cr.autograd.is_anomaly_enabled()


def test_detect_anomaly_names_the_op_whose_backward_made_inf():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with cr.autograd.detect_anomaly(), numpy.errstate(divide="ignore"):
        root = cr.sqrt(x)  # finite forward, infinite derivative at 0
        loss = root.sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "backward of sqrt" in message and "inf" in message and "root = cr.sqrt(x)" in message


def test_set_detect_anomaly_as_a_call_and_no_checks_when_off():
    cr.autograd.set_detect_anomaly(True)
    assert cr.autograd.is_anomaly_enabled()
    with numpy.errstate(invalid="ignore"), pytest.raises(AnomalyError):
        cr.sqrt(cr.tensor([-1.0]))
    cr.autograd.set_detect_anomaly(False)
    with numpy.errstate(invalid="ignore"):
        assert numpy.isnan(cr.sqrt(cr.tensor([-1.0])).item())


def test_the_fast_path_summaries_return_to_the_defaults():
    # Op.__call__ reads these instead of the thread's own state while every thread is in the defaults
    from chainrule.autograd.mode import shared

    with cr.no_grad():
        assert not shared.all_grad
    with cr.autograd.detect_anomaly():
        assert shared.special
    cr.jvp(lambda a: a * a, (cr.tensor([1.0]),), (cr.tensor([1.0]),))
    assert shared.all_grad and not shared.special


def test_forward_mode_in_one_thread_pushes_no_tangents_in_another():
    inside, release, seen = threading.Event(), threading.Event(), []
    carrier = cr.tensor([2.0])

    def f(a):
        inside.set()
        release.wait(5)
        return a * a

    def run():
        seen.append(cr.jvp(f, (carrier,), (cr.tensor([1.0]),))[1].item())

    thread = threading.Thread(target=run)
    thread.start()
    inside.wait(5)
    x = cr.tensor([3.0])
    x._tangent = cr.tensor([1.0])  # a tangent here must be ignored: this thread is not in cr.jvp
    assert (x * x)._tangent is None
    release.set()
    thread.join()
    assert seen == [4.0]
