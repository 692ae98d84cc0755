"""``Module``: the base class of layers and models, PyTorch-shaped.

Assigning a :class:`Parameter`, a Module or a buffer (``register_buffer``) to an attribute
registers it under that name; the dotted path of names (``encoder.0.weight``) is its key in
``state_dict`` and in weight files.
"""

from collections import OrderedDict

import numpy

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ShapeError
from chainrule.nn.parameter import Parameter


class Module:
    """Base class of every layer and model: override ``forward``; call the module to run it."""

    training = True

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------------- registration by assignment
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 f"before assigning '{name}'")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, value):
        """Register non-trainable state (a Tensor or None) that is saved in ``state_dict``."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    def register_parameter(self, name, value):
        """Register a Parameter (or None, for an absent optional parameter such as a bias)."""
        self.__dict__.pop(name, None)
        self._parameters[name] = value

    def add_module(self, name, module):
        self._modules[str(name)] = module

    # ---------------------------------------------------------------- running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def train(self, mode=True):
        """Switch to training behaviour (dropout on, batch statistics); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Switch to inference behaviour (dropout off, running statistics); returns self."""
        return self.train(False)

    # ---------------------------------------------------------------- traversal
    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, module = stack.pop(0)
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            for child_name, child in module._modules.items():
                if child is not None:
                    stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        yield from ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) pairs, each parameter once even if shared."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self):
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only=False):
        return int(sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only))

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module, then on self (as in PyTorch); returns self."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                # a fresh array: the engine may hand one read-only array to several leaves
                p.grad = Tensor._from_op(numpy.zeros_like(p.data))

    # ---------------------------------------------------------------- state
    def state_dict(self):
        """Ordered {dotted name: array copy} of parameters and buffers."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None and prefix + name not in state:
                        data = value.data if isinstance(value, Tensor) else numpy.asarray(value)
                        state[prefix + name] = data.copy()
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (NumPy arrays or Tensors) into the existing parameters and buffers.

        Values keep each parameter's dtype. With ``strict``, any missing, unexpected or wrongly shaped
        key raises before anything is changed. Returns ``(missing, unexpected)`` key lists.
        """
        targets = dict(self.named_parameters())
        targets.update(self.named_buffers())
        values = {k: (v.data if isinstance(v, Tensor) else numpy.asarray(v)) for k, v in state_dict.items()}
        missing = [k for k in targets if k not in values]
        unexpected = [k for k in values if k not in targets]
        wrong = [f"{k}: expected {targets[k].shape}, got {values[k].shape}" for k in targets
                 if k in values and tuple(values[k].shape) != tuple(targets[k].shape)]
        if wrong or (strict and (missing or unexpected)):
            problems = []
            if missing:
                problems.append("missing keys: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected keys: " + ", ".join(unexpected))
            if wrong:
                problems.append("wrong shapes: " + "; ".join(wrong))
            raise ShapeError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for k, target in targets.items():
            if k in values:
                target.data[...] = values[k].astype(target.dtype, copy=False)
        return missing, unexpected

    def to(self, dtype):
        """Convert every floating parameter and buffer to ``dtype``, in place; returns self."""
        dtype = numpy.dtype(dtype)
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for t in table.values():
                    if isinstance(t, Tensor) and numpy.issubdtype(t.dtype, numpy.floating):
                        t.data = t.data.astype(dtype)
                        if t.grad is not None:
                            t.grad = None
        return self

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    # ---------------------------------------------------------------- display
    def extra_repr(self):
        """The text inside the parentheses of this module's line in the repr tree."""
        return ""

    def __repr__(self):
        children = [(n, m) for n, m in self._modules.items() if m is not None]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)
