"""``Module``: the base class of layers and models, PyTorch-shaped.

Assigning a :class:`Parameter`, a Module or a buffer (``register_buffer``) to an attribute
registers it under that name; the dotted path of names (``encoder.0.weight``) is its key in
``state_dict`` and in weight files.
"""

from collections import OrderedDict, namedtuple

import numpy

from chainrule import device as devices
from chainrule import gpu
from chainrule.autograd.tensor import Tensor, mark_changed
from chainrule.backend import array_module, is_floating
from chainrule.errors import ConfigError, ShapeError
from chainrule.gpu import move_array
from chainrule.nn.parameter import Parameter

# what load_state_dict returns, as PyTorch's: a pair that also has .missing_keys and .unexpected_keys
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _not_a_parameter(module, name, value):
    """The message for assigning a plain value over a registered Parameter.

    Silently re-binding would drop the parameter from ``parameters()``: ``layer.weight += 1`` (which
    Python runs as ``layer.weight = layer.weight + 1``) and ``layer.weight = tensor`` would stop
    training that weight without a word, so they raise, as in PyTorch.
    """
    return (f"{type(module).__name__}.{name} is a Parameter; assigning a {type(value).__name__} over it "
            f"would drop it from parameters() (that is what `layer.{name} += ...` does): to change its "
            f"values in place write `with cr.no_grad(): layer.{name}.data[...] = new_values` (or "
            f"`.data -= ...`); to replace it assign nn.Parameter(new_values), or None to remove it")


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
        if name in self._parameters and not isinstance(value, Parameter):
            if value is not None:
                raise TypeError(_not_a_parameter(self, name, value))
            self._parameters[name] = None  # still registered, as an absent optional parameter
            return
        if isinstance(value, Parameter):
            table = self._parameters
            if not self.__dict__.get("_trainable", True):
                value.requires_grad_(False)  # a lazy layer frozen before it built its weights
        elif isinstance(value, Module):
            table = self._modules
        elif name in self.__dict__.get("_buffer_names", ()):
            table = self._buffers
        else:
            table = None
        for other in (self._parameters, self._buffers, self._modules):
            if other is not table:
                other.pop(name, None)
        if table is not None:
            # replacing keeps the entry's place (model.fc = nn.Linear(...) when fine-tuning), so the
            # order of parameters(), state_dict() and the repr stays as it was, as in PyTorch
            table[name] = value
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
        if value is not None and not self.__dict__.get("_trainable", True):
            value.requires_grad_(False)
        self._parameters[name] = value

    def add_module(self, name, module):
        self._modules[str(name)] = module

    register_module = add_module

    # ---------------------------------------------------------------- running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_forward_hooks")
        if not hooks:  # the common case: no hooks, one dictionary lookup
            return self.forward(*args, **kwargs)
        for hook in list(hooks["pre"]):
            changed = hook(self, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
        output = self.forward(*args, **kwargs)
        for hook in list(hooks["post"]):
            changed = hook(self, args, output)
            if changed is not None:
                output = changed
        return output

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward (to look at activations, say).

        A hook that returns something other than None replaces the output. Returns a handle whose
        ``remove()`` takes the hook away.
        """
        return self._add_forward_hook("post", hook)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before every forward; a non-None result replaces the inputs."""
        return self._add_forward_hook("pre", hook)

    def _add_forward_hook(self, kind, hook):
        hooks = self.__dict__.setdefault("_forward_hooks", {"pre": [], "post": []})
        hooks[kind].append(hook)
        return _HookHandle(hooks, kind, hook)

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
        """(dotted name, module) pairs, depth first in registration order (PyTorch's order), each once.

        Depth first matters beyond looks: it orders ``parameters()`` and ``state_dict()``, which code
        zips against a PyTorch model's or an optimiser's list.
        """
        stack = [(prefix, self)]
        seen = set()
        while stack:  # iterative: a deep model must not meet the recursion limit
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        yield from ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        for _, module in self.named_children():
            yield module

    def _own_and_below(self, prefix, recurse):
        return self.named_modules(prefix) if recurse else iter([(prefix, self)])

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs, each parameter once even if shared; ``recurse=False``: own only."""
        seen = set()
        for module_name, module in self._own_and_below(prefix, recurse):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        for module_name, module in self._own_and_below(prefix, recurse):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The sub-module at dotted path ``target`` ("" is self), as in PyTorch."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no sub-module '{part}' (looking for "
                                     f"'{target}'); it has: {', '.join(module._modules) or 'none'}")
            module = child
        return module

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter, for fine-tuning; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @property
    def trainable(self):
        """Keras's switch: False freezes every parameter of this module and below (and True thaws them).

        Setting it is ``requires_grad_(value)`` that also holds for weights a lazy layer builds later;
        frozen weights get no gradient, so no optimiser moves them and summary counts them as
        non-trainable.
        """
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        for module in self.modules():
            object.__setattr__(module, "_trainable", bool(value))
        self.requires_grad_(bool(value))

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
                p.grad = Tensor._from_op(numpy.zeros_like(p._data))

    # ---------------------------------------------------------------- state
    def _state_entries(self):
        """(dotted name, tensor) of every parameter and buffer under every name it is reachable by.

        Unlike ``named_parameters()``, a shared module or a tied weight appears under each of its
        names, as in PyTorch's ``state_dict``: ``Sequential(lin, act, lin)`` has ``0.weight`` and
        ``2.weight``, a decoder tied to an embedding has ``decoder.weight``; so state dicts move
        across both ways and a model always loads its own.
        """
        stack = [("", self, ())]
        while stack:  # depth first, like named_modules; `ancestors` only guards against cycles
            name, module, ancestors = stack.pop()
            prefix = f"{name}." if name else ""
            for table in (module._parameters, module._buffers):
                for key, value in table.items():
                    if value is not None:
                        yield prefix + key, value
            inside = ancestors + (id(module),)
            children = [(prefix + child_name, child, inside) for child_name, child in module._modules.items()
                        if child is not None and id(child) not in inside]
            stack.extend(reversed(children))

    def state_dict(self):
        """Ordered {dotted name: Tensor} of parameters and buffers (shared ones under each name).

        Each value is a copy outside the graph, so that the dict is a snapshot training does not change.
        """
        state = OrderedDict()
        for name, value in self._state_entries():
            data = value._data if isinstance(value, Tensor) else numpy.asarray(value)
            state[name] = Tensor._from_op(data.copy())
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (NumPy arrays or Tensors) into the existing parameters and buffers.

        Values keep each parameter's dtype. With ``strict``, any missing, unexpected or wrongly shaped
        key raises before anything is changed. Returns ``(missing_keys, unexpected_keys)`` lists, a named
        tuple as PyTorch's.
        """
        targets = dict(self._state_entries())
        values = {k: (v._data if isinstance(v, Tensor) else numpy.asarray(v)) for k, v in state_dict.items()}
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
                target._data[...] = move_array(values[k], array_module(target._data)).astype(target.dtype,
                                                                                            copy=False)
                mark_changed(target)
        return IncompatibleKeys(missing, unexpected)

    def to(self, *targets, dtype=None):
        """Convert every floating parameter and buffer to ``dtype``, in place; returns self.

        PyTorch code moves models with ``model.to(device)``: ``"cpu"`` (or ``cr.device("cpu")``, a
        torch.device) is where the arrays are without a GPU backend; ``"cuda"`` needs the ``gpu``
        extra and raises a clear error without it. ``model.to("cpu", float64)``,
        ``model.to(dtype=float64)`` and ``model.to(tensor)`` work too.
        """
        move_to = None
        for target in targets:
            if isinstance(target, Tensor):
                target, dtype = target.device, target.dtype if dtype is None else dtype
            if devices.is_device(target):
                devices.resolve(target).array_module()  # raises, naming the gpu extra, where absent
                move_to = target
                continue
            try:
                wanted = numpy.dtype(devices.as_dtype(target))
            except (TypeError, ConfigError):
                raise ConfigError(f"{type(self).__name__}.to({target!r}): expected a floating dtype "
                                  f"(float32, float64) or a device ('cpu', or 'cuda' with the gpu "
                                  f"extra)") from None
            if dtype is not None and numpy.dtype(dtype) != wanted:
                raise ConfigError(f"{type(self).__name__}.to: two dtypes given, {dtype} and {wanted}")
            dtype = wanted
        if move_to is not None:  # gradients too; and layers built later are built there
            gpu.move_module(self, devices.resolve(move_to).array_module())
        if dtype is None:
            return self
        dtype = numpy.dtype(devices.as_dtype(dtype))
        if not is_floating(dtype):
            raise ConfigError(f"{type(self).__name__}.to({dtype}): parameters must stay floating point; "
                              f"use float32 or float64")
        for t in self._tensors():
            if is_floating(t.dtype):
                t._data = t._data.astype(dtype)
                mark_changed(t)
                if t.grad is not None:
                    t.grad = None
        return self

    def _tensors(self):
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                yield from (t for t in table.values() if isinstance(t, Tensor))

    def cpu(self):
        """Every parameter and buffer to the CPU (where they are without a GPU); returns self."""
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

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


class _HookHandle:
    """What ``register_forward_hook`` returns: ``remove()`` takes the hook away."""

    def __init__(self, hooks, kind, hook):
        self._hooks, self._kind, self._hook = hooks, kind, hook

    def remove(self):
        if self._hook in self._hooks[self._kind]:
            self._hooks[self._kind].remove(self._hook)
