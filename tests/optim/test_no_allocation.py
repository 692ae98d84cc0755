"""A step of SGD-momentum, RMSprop or Adam allocates no array the size of the parameter."""

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import Parameter

optim = cr.optim
SIZE = 250_000  # 1 MB of float32: any per-step temporary would show up as that much traced memory

CASES = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd_nesterov_decay": lambda p: optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "rmsprop_centered_momentum": lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.9),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam_amsgrad_decay": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=1e-4),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.01),
    "adadelta": lambda p: optim.Adadelta(p),
}


@pytest.mark.parametrize("name", list(CASES))
def test_step_allocates_nothing_parameter_sized(name):
    rng = np.random.default_rng(0)
    p = Parameter(rng.normal(size=SIZE).astype(np.float32))
    p.grad = cr.Tensor(rng.normal(size=SIZE).astype(np.float32))
    opt = CASES[name]([p])
    opt.step()  # the first step allocates the state and the scratch buffer
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(3):
            opt.step()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    parameter_bytes = p.numpy().nbytes
    assert peak - before < parameter_bytes // 10, f"{name}: a step allocated {peak - before} bytes"
    assert after - before < parameter_bytes // 10


def test_the_check_would_see_an_allocating_update():
    # the same measurement on an update written the naive way does report the temporaries
    rng = np.random.default_rng(0)
    theta = rng.normal(size=SIZE).astype(np.float32)
    grad = rng.normal(size=SIZE).astype(np.float32)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        theta -= 0.01 * grad / (np.sqrt(grad * grad) + 1e-8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before >= theta.nbytes


def test_no_allocation_with_a_transposed_gradient_of_a_matrix():
    # a Linear weight's gradient may come as a transposed (Fortran-ordered) view: still no copy
    rng = np.random.default_rng(0)
    p = Parameter(rng.normal(size=(500, 784)).astype(np.float32))
    p.grad = cr.Tensor(np.ascontiguousarray(rng.normal(size=(784, 500)).astype(np.float32)).T)
    opt = optim.RMSprop([p], lr=0.01)
    opt.step()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < p.numpy().nbytes // 10
