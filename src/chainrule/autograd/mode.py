"""Switches of the autograd: whether graphs are recorded, forward mode, anomaly detection.

Every switch is per thread, as in PyTorch: ``no_grad()`` in one thread, or a backward pass (which
runs its vjps without recording unless ``create_graph=True``), leaves another thread's training
recording as before. A new thread starts with the defaults (graphs recorded, no anomaly mode).
"""

import functools
import threading


class _Shared:
    """What all threads share. ``Op.__call__``, the hot path, reads only these plain attributes while
    every thread is in the default modes (a thread-local read costs it several percent on a tiny op),
    and asks its own thread's :data:`state` only when some thread has left a default."""

    changes = 0  # in-place changes of tensors so far, in all threads: a tensor changed in one thread
    # may be one that another thread's graph saved; backward checks a node's inputs only if it grew
    all_grad = True  # no thread has grad mode off now: graphs are recorded wherever they are wanted
    special = False  # some thread is in forward mode or anomaly mode now
    grad_off_threads = 0
    special_threads = 0


shared = _Shared()
_lock = threading.Lock()  # guards the two thread counts above


def _count(name, step):
    with _lock:
        count = getattr(shared, name) + step
        setattr(shared, name, count)
        shared.all_grad = shared.grad_off_threads == 0
        shared.special = shared.special_threads > 0


class _State(threading.local):
    """The switches, one set per thread: the class attributes are each new thread's defaults.

    Set them through these properties (as the context managers below do), which keep :data:`shared`
    up to date; a thread that ends with a switch left on only slows other threads' ops slightly.
    """

    _grad_enabled = True
    forward_level = 0  # > 0 while cr.jvp is pushing tangents (an op's own jvp rule lowers it)
    _jvp_depth = 0  # how many cr.jvp calls are running in this thread (see forward_mode)
    _anomaly = False  # detect_anomaly(): ops remember where they were made and check for NaN/inf
    anomaly_check_nan = True
    inference = False  # inside inference_mode(): no graph, and is_inference_mode_enabled() says so

    @property
    def grad_enabled(self):
        return self._grad_enabled

    @grad_enabled.setter
    def grad_enabled(self, value):
        value = bool(value)
        if value != self._grad_enabled:
            self._grad_enabled = value
            _count("grad_off_threads", -1 if value else 1)

    @property
    def jvp_depth(self):
        return self._jvp_depth

    @jvp_depth.setter
    def jvp_depth(self, value):
        was_special = self._special()
        self._jvp_depth = value
        self._recount(was_special)

    @property
    def anomaly(self):
        return self._anomaly

    @anomaly.setter
    def anomaly(self, value):
        was_special = self._special()
        self._anomaly = bool(value)
        self._recount(was_special)

    def _special(self):
        return self._jvp_depth > 0 or self._anomaly

    def _recount(self, was_special):
        now = self._special()
        if now != was_special:
            _count("special_threads", 1 if now else -1)


state = _State()


class forward_mode:  # noqa: N801 - a context manager, named as the others
    """While ``cr.jvp`` runs its function: ops push tangents (in this thread)."""

    def __enter__(self):
        state.jvp_depth += 1
        state.forward_level += 1

    def __exit__(self, *exc):
        state.forward_level -= 1
        state.jvp_depth -= 1


def is_grad_enabled():
    """True when operations on tensors that require grad record a graph (in this thread)."""
    return state.grad_enabled


def is_inference_mode_enabled():
    """True inside ``inference_mode()`` (in this thread)."""
    return state.inference


class _Switch:
    """A context manager that is also a decorator. ``settings()`` says which switches of
    :data:`state` to set and to what; on exit they get back the values they had on entry. The
    decorated function runs with them set, through a fresh instance per call (so recursion and
    threads do not share a saved value)."""

    def settings(self):
        raise NotImplementedError

    def _fresh(self):
        return type(self)()

    def _apply(self):
        for name, value in self.settings().items():
            setattr(state, name, value)

    def _restore(self):
        for name, value in self._previous.items():
            setattr(state, name, value)

    def __enter__(self):
        self._previous = {name: getattr(state, name) for name in self.settings()}
        self._apply()

    def __exit__(self, *exc):
        self._restore()

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return function(*args, **kwargs)

        return wrapper


class _SetNow(_Switch):
    """PyTorch's ``set_*`` form: the call itself sets the switches (until set again); ``with``
    restores on exit the values found at the call; as a decorator it applies only while the
    function runs."""

    def __init__(self):
        self._previous = {name: getattr(state, name) for name in self.settings()}
        self._apply()

    def __call__(self, function):
        self._restore()  # decorating is not calling: undo what __init__ set
        return super().__call__(function)

    def __enter__(self):
        self._apply()


class _GradMode(_Switch):
    """Sets whether graphs are recorded on entry, and restores the previous setting on exit."""

    enabled = True

    def __new__(cls, function=None):
        switch = super().__new__(cls)
        return switch if function is None else switch(function)  # ``@no_grad`` without parentheses

    def settings(self):
        return {"grad_enabled": self.enabled}


class no_grad(_GradMode):  # noqa: N801 - named like the PyTorch context manager it mirrors
    """Record no graph inside: ``with cr.no_grad(): ...`` or ``@cr.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Record graphs again, even inside ``no_grad``."""

    enabled = True


class set_grad_enabled(_SetNow):  # noqa: N801
    """Record graphs or not, as ``mode`` says: as a call, a context manager or a decorator.

    As in PyTorch, the call itself sets the mode (``cr.set_grad_enabled(False)`` alone turns graphs
    off in this thread until set again); ``with`` restores the mode found at the call on exit; as a
    decorator, the setting applies only while the decorated function runs.
    """

    def __init__(self, mode=True):
        self.mode = bool(mode)
        super().__init__()

    def _fresh(self):
        return type(self)(self.mode)

    def settings(self):
        return {"grad_enabled": self.mode}


class inference_mode(_Switch):  # noqa: N801
    """Inference: no graph is recorded (as ``no_grad``), and ``is_inference_mode_enabled()`` is True.

    ``inference_mode(False)`` leaves the current setting as it is, as PyTorch's does.
    """

    def __new__(cls, mode=True):
        switch = super().__new__(cls)
        if not callable(mode):
            return switch
        switch.mode = True  # ``@inference_mode`` without parentheses: ``mode`` is the function
        return switch(mode)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def _fresh(self):
        return type(self)(self.mode)

    def settings(self):
        return {"grad_enabled": False, "inference": True} if self.mode else {}


def is_anomaly_enabled():
    """True while anomaly detection is on (in this thread)."""
    return state.anomaly


def is_anomaly_check_nan_enabled():
    """True while anomaly detection also checks every op's output for NaN and inf."""
    return state.anomaly and state.anomaly_check_nan


class detect_anomaly(_Switch):  # noqa: N801
    """Anomaly detection inside: slow, for finding where a NaN or inf comes from.

    While it is on, every op remembers the line of user code that made it, and the first op whose
    forward or backward produces NaN or inf raises :class:`chainrule.errors.AnomalyError` naming
    the op and that line (``check_nan=False`` keeps the lines for error messages, without checks).
    """

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def _fresh(self):
        return type(self)(self.check_nan)

    def settings(self):
        return {"anomaly": True, "anomaly_check_nan": self.check_nan}


class set_detect_anomaly(_SetNow):  # noqa: N801
    """Anomaly detection on or off: as a call (until set again), a context manager or a decorator."""

    def __init__(self, mode, check_nan=True):
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        super().__init__()

    def _fresh(self):
        return type(self)(self.mode, self.check_nan)

    def settings(self):
        return {"anomaly": self.mode, "anomaly_check_nan": self.check_nan}
