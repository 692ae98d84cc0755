"""Global switches of the autograd: whether graphs are recorded, and whether forward mode is on."""

import functools


class _State:
    grad_enabled = True
    forward_level = 0  # > 0 while cr.jvp is pushing tangents; 0 skips all forward-mode work
    changes = 0  # in-place changes of tensors so far: backward checks a node's inputs only if it grew


state = _State()


def is_grad_enabled():
    """True when operations on tensors that require grad record a graph."""
    return state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets whether graphs are recorded."""

    enabled = True

    def __enter__(self):
        self._previous = state.grad_enabled
        state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        state.grad_enabled = self._previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 - named like the PyTorch context manager it mirrors
    """Record no graph inside: ``with cr.no_grad(): ...`` or ``@cr.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Record graphs again, even inside ``no_grad``."""

    enabled = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """Record graphs or not, as ``mode`` says."""

    def __init__(self, mode=True):
        self.enabled = bool(mode)
