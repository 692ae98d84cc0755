"""Keras's ``training`` argument: ``model(x)`` is inference unless told ``training=True``.

In Keras a call's ``training`` comes from the call itself, else from the call that encloses it, else
it is False: ``model(x)`` outside ``fit`` runs Dropout as the identity and BatchNormalization on its
moving statistics, and ``generator(noise, training=True)`` in a custom step trains. The engine's
layers read their module mode (PyTorch's ``train()``/``eval()``) instead, so a call in a given mode
sets the modes of the modules inside it for that call and restores them afterwards; the mode of the
enclosing call is kept in a context variable, which nested layers and models follow.
"""

import contextlib
import contextvars
import functools
import inspect

_enclosing = contextvars.ContextVar("keras_training", default=None)


def enclosing():
    """The mode of the Keras call this one runs inside (True, False), or None outside any."""
    return _enclosing.get()


@contextlib.contextmanager
def mode(module, training):
    """Run the body with ``module`` and everything inside it in training (True) or inference mode."""
    training = bool(training)
    saved = [(m, m.training) for m in module.modules()]
    token = _enclosing.set(training)
    for m, _ in saved:
        object.__setattr__(m, "training", training)
    try:
        yield
    finally:
        _enclosing.reset(token)
        for m, was in saved:
            object.__setattr__(m, "training", was)


@contextlib.contextmanager
def step(training):
    """The engine's train_step (True) or test_step (False): the calls inside follow that mode."""
    token = _enclosing.set(bool(training))
    try:
        yield
    finally:
        _enclosing.reset(token)


@functools.cache
def takes_training(function):
    """Whether ``function`` (a ``call`` or ``forward``) has a ``training`` parameter (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "training" in parameters


def call(module, run, training, args, kwargs):
    """``run(*args, **kwargs)`` in Keras's mode for this call: ``training`` if given (modes set for the
    call), else the enclosing call's, else the modules' own modes as they are."""
    if training is None or training == enclosing():
        return run(*args, **kwargs)
    with mode(module, training):
        return run(*args, **kwargs)
