"""``Optimizer``: parameter groups, per-parameter state, and the one loop that applies an update rule.

An algorithm is a rule for one parameter (STYLE habit 6): ``state_arrays(group)`` names the arrays
of state it keeps per parameter (allocated once, as zeros, by ``init_state``), and ``update(p, g,
state, group)`` changes the array ``p`` in place given its gradient array ``g``. The base class owns
everything else: groups, the loop, the step counter ``state["step"]``, skipping parameters without a
gradient, ``zero_grad``, ``state_dict``, and a shared scratch buffer so that a step allocates no new
arrays.

A rule is elementwise, so the loop hands it a large parameter in blocks of rows: each block's
parameter, gradient, state and scratch stay in the CPU cache through the rule's eight to twelve
passes, instead of each pass streaming the whole parameter from memory.

With Numba installed, ``chainrule.kernels.compiled`` registers a one-pass compiled kernel per optimiser class,
used instead of ``update`` where it applies (:func:`register_kernel`); ``CHAINRULE_NO_NUMBA=1`` keeps
the NumPy ``update`` everywhere.

Gradient arrays are read, never written: the engine may hand the same (read-only, broadcast) array
to several leaves.
"""

import copy
import math
import numbers

import numpy

from chainrule.autograd import seam
from chainrule.autograd.mode import enable_grad
from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.backend import array_module
from chainrule.errors import ConfigError, ShapeError
from chainrule.gpu import move_array


def update_kernel(optimizer_class):
    """The ``update`` kernel registered for exactly ``optimizer_class`` (see the seam), or None.

    A kernel ``kernel(optimizer, p, g, state, group)`` applies the same rule as ``update`` in one pass
    and returns True, or returns False for a configuration it does not cover. Exact classes only: a
    user's subclass may change the rule, so it keeps its own ``update``. None in reference mode.
    """
    kernel = seam.kernel_for(optimizer_class, numpy, ())
    return None if kernel is None else kernel.update


class Optimizer:
    """Base class of the optimisers: ``Optimizer(params=None, **defaults)``.

    ``params`` is an iterable of tensors, or of dicts (parameter groups) ``{"params": [...], "lr": ...}``
    whose keys override ``defaults`` for that group. Built without parameters (Keras style), the
    optimiser is attached later with :meth:`bind`.
    """

    scratch_buffers = 1  # how many temporaries shaped like a parameter ``update`` uses at most
    named_settings = ("line_search_fn", "name")  # hyperparameters that are names, not numbers
    block_size = 32768  # elements per block of rows given to ``update`` (about 128 kB of float32)

    def __init__(self, params=None, **defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # parameter tensor -> dict of its state (Tensor hashes by identity)
        self._scratch = {}  # dtype -> flat buffer as large as the largest parameter of that dtype
        self.check_group(self.defaults)  # where the values are given, not at the first bind
        if params is not None:
            self.bind(params)

    # ---------------------------------------------------------------- parameters
    def bind(self, params):
        """Attach parameters (an iterable of tensors or of group dicts); any earlier ones and their
        state are dropped. Returns self."""
        if isinstance(params, Tensor):
            params = [params]
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list: does the model have "
                             "parameters yet (a lazy layer builds them at its first call)?")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups = []
        self.state = {}
        for group in groups:
            self.add_param_group(group)
        return self

    def add_param_group(self, group):
        """Add a dict ``{"params": tensors, **hyperparameters}``; missing hyperparameters take defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group is a dict with a 'params' key, "
                            f"got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors (or nn.Parameter), "
                                f"got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} appears in "
                                 "more than one group (or twice in one)")
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        for key, value in full.items():  # NumPy scalars would turn float32 updates into float64 ones
            if isinstance(value, numpy.generic):
                full[key] = value.item()
            elif isinstance(value, tuple):
                full[key] = tuple(v.item() if isinstance(v, numpy.generic) else v for v in value)
        self.check_group(full)
        self.param_groups.append(full)

    def check_group(self, group):
        """Raise ConfigError for hyperparameters that are not finite numbers or out of range
        (subclasses extend this). Runs on the defaults at construction and on every group added."""
        name = type(self).__name__
        for key, value in group.items():
            if key == "params":
                continue
            for v in value if isinstance(value, (tuple, list)) else (value,):
                if isinstance(v, bool) or v is None or callable(v) or (isinstance(v, str) and key in
                                                                         self.named_settings):
                    continue  # switches (nesterov), names (line_search_fn): checked by their owner
                if not isinstance(v, numbers.Real):
                    raise ConfigError(f"{name}: {key} must be a number, got {v!r}")
                if not math.isfinite(v):
                    raise ConfigError(f"{name}: {key} must be a finite number, got {v}")
        for key in ("lr", "weight_decay", "eps"):
            if group.get(key, 0.0) < 0.0:
                raise ConfigError(f"{name}: {key} must be >= 0, got {group[key]}")

    @property
    def lr(self):
        """The learning rate of the first group (of the defaults while nothing is bound)."""
        return self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]

    @lr.setter
    def lr(self, value):
        value = float(value)
        if self.param_groups:
            self.param_groups[0]["lr"] = value
        else:
            self.defaults["lr"] = value

    # ---------------------------------------------------------------- the loop
    def state_arrays(self, group):
        """The names of the state arrays shaped like a parameter that ``update`` uses with ``group``."""
        return ()

    def init_state(self, p, group):
        """Return the state of a new parameter array ``p``: the step count and zeroed state arrays."""
        xp = array_module(p)
        return {"step": 0, **{key: xp.zeros_like(p) for key in self.state_arrays(group)}}

    def update(self, p, g, state, group):
        """Change ``p`` in place given its gradient ``g`` (arrays, or one block of rows of each; the
        state arrays are the same block); ``state["step"]`` already counts this step."""
        raise NotImplementedError(f"{type(self).__name__} does not define update()")

    def coupled_weight_decay(self, p, g, group):
        """g + λθ (the L2 penalty's gradient added), built in scratch buffer 0; ``g`` itself when λ = 0.

        ``g`` is never written: it may be shared by several parameters.
        """
        if group["weight_decay"] == 0.0:
            return g
        decayed = self.scratch(p, 0)
        array_module(p).multiply(p, group["weight_decay"], out=decayed)
        decayed += g
        return decayed

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (it runs with gradients enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        kernel = update_kernel(type(self))
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self.init_state(p._data, group)
                    self._reserve_scratch(p._data)
                for key in self.state_arrays(group):  # an option switched on since the state was made
                    if key not in state:
                        state[key] = array_module(p._data).zeros_like(p._data)
                state["step"] += 1
                # compiled kernels take NumPy arrays only: a device's parameters keep the array-module form
                if kernel is None or type(p._data) is not numpy.ndarray \
                        or not kernel(self, p._data, p.grad._data, state, group):
                    self._update_in_blocks(p._data, p.grad._data, state, group)
                mark_changed(p)
        return loss

    def _update_in_blocks(self, p, g, state, group):
        """Apply ``update`` to the whole parameter, or block by block of rows when it is large."""
        rows = p.shape[0] if p.ndim else 1
        rows_per_block = self.block_size // max(1, p.size // max(1, rows))
        if p.size <= self.block_size or rows_per_block < 1 or g.shape != p.shape:
            self.update(p, g, state, group)
            return
        arrays = [key for key, value in state.items() if getattr(value, "shape", None) == p.shape]
        block_state = dict(state)
        for start in range(0, rows, rows_per_block):
            rows_here = slice(start, start + rows_per_block)
            for key in arrays:
                block_state[key] = state[key][rows_here]
            self.update(p[rows_here], g[rows_here], block_state, group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``None`` (the default), or arrays of zeros with ``set_to_none=False``.

        The zeros are fresh arrays, because a gradient array may be shared by several parameters.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = Tensor._from_op(array_module(p._data).zeros_like(p._data))

    # ---------------------------------------------------------------- scratch memory
    def _reserve_scratch(self, p):
        key = (numpy.dtype(p.dtype), array_module(p).__name__)
        buffer = self._scratch.get(key)
        size = self.scratch_buffers * p.size
        if buffer is None or buffer.shape[0] < size:
            self._scratch[key] = array_module(p).empty(size, dtype=p.dtype)

    def scratch(self, p, index=0):
        """A temporary array shaped like ``p`` (``index < scratch_buffers`` picks one), reused by
        every parameter and every step: its content does not survive the next ``update``."""
        buffer = self._scratch[(numpy.dtype(p.dtype), array_module(p).__name__)]
        start = index * p.size
        return buffer[start:start + p.size].reshape(p.shape)

    # ---------------------------------------------------------------- saving and resuming
    def get_config(self):
        """The JSON-able constructor keywords, so that ``type(opt)(**opt.get_config())`` rebuilds it."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.defaults.items()}

    def state_dict(self):
        """``{"state": {index: {name: array or number}}, "param_groups": [{hyperparameters, "params":
        [indices]}]}`` with parameters numbered across groups in order; arrays are copies."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            entry = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
            entry["params"] = []
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
                entry["params"].append(index_of[id(p)])
            groups.append(entry)
        state = {index_of[id(p)]: self.export_state(s) for p, s in self.state.items()
                 if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def export_state(self, state):
        """A deep copy of one parameter's state, as saved (subclasses may rename or convert)."""
        return copy.deepcopy(state)

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by :meth:`state_dict` into the bound parameters."""
        saved_groups = state_dict["param_groups"]
        name = type(self).__name__
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                             f"groups, this optimiser has {len(self.param_groups)}")
        params = []
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: a saved group has {len(saved['params'])} "
                                 f"parameters, the bound one has {len(group['params'])}")
            params.extend(group["params"])
        for saved, group in zip(saved_groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if isinstance(value, list) else value
        self.state = {}
        for index, saved in state_dict["state"].items():
            p = params[int(index)]
            self.state[p] = self.import_state(p._data, copy.deepcopy(saved), name)
            self._reserve_scratch(p._data)

    def import_state(self, p, state, name):
        """Cast the saved arrays of one parameter to its dtype, checking their shapes."""
        for key, value in state.items():
            if isinstance(value, numpy.ndarray) or array_module(value) is not numpy:
                value = move_array(value, array_module(p))  # saved state joins its parameter
                if value.shape != p.shape:
                    raise ShapeError(f"{name}.load_state_dict: state '{key}' has shape {value.shape}, "
                                     f"the parameter has shape {p.shape}")
                state[key] = value.astype(p.dtype, order="C", copy=False)
        return state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(group['params'])} parameters")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        if not self.param_groups:
            lines.extend(f"  {k}: {v}" for k, v in sorted(self.defaults.items()))
        return "\n".join(lines) + "\n)"
