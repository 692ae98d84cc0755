"""Containers of layers: Sequential (PyTorch's ``Sequential(*layers)`` and Keras's ``Sequential([...])``),
ModuleList and ModuleDict; and of parameters: ParameterList and ParameterDict.

Children are registered under their position, "0", "1", ..., so a Sequential's state_dict keys are
"0.weight", "0.bias", "2.weight", ... exactly as in PyTorch.
"""

from collections import OrderedDict

from chainrule.nn.layers.linear import layer_name
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


def _check_module(owner, value):
    if not isinstance(value, Module):
        raise TypeError(f"{owner} holds layers (nn.Module instances), got {type(value).__name__}: "
                        "did you pass a class instead of an instance, e.g. nn.ReLU instead of nn.ReLU()?")
    return value


class Sequential(Module):
    """Layers applied one after the other: ``Sequential(a, b, c)`` or ``Sequential([a, b, c])``.

    An ``OrderedDict`` of named layers is also accepted (its names become the keys). Supports ``add``,
    ``pop``, indexing (a slice gives a new Sequential sharing the layers), ``len`` and iteration.

        >>> import chainrule.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
        >>> list(model.state_dict())
        ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers, name=None):
        super().__init__()
        self.name = layer_name(self, name)
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for key, layer in layers[0].items():
                self.add_module(key, _check_module("Sequential", layer))
            return
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = layers[0]
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer (Keras's ``model.add``); returns self."""
        self.add_module(str(len(self._modules)), _check_module("Sequential", layer))
        return self

    append = add

    def pop(self):
        """Remove and return the last layer."""
        if not self._modules:
            raise IndexError("pop from an empty Sequential")
        _, layer = self._modules.popitem()
        return layer

    @property
    def layers(self):
        """The layers in order, as a list (Keras's name)."""
        return list(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        if isinstance(index, str):
            return self._modules[index]
        return self.layers[index]

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(Module):
    """A list of layers whose parameters the owning module registers (keys "0", "1", ...)."""

    def __init__(self, modules=None):
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module):
        self.add_module(str(len(self._modules)), _check_module("ModuleList", module))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, _check_module("ModuleList", module))
        self._renumber(items)

    def _renumber(self, items):
        self._modules.clear()
        for i, module in enumerate(items):
            self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[index]

    def __setitem__(self, index, module):
        key = list(self._modules)[index]
        self._modules[key] = _check_module("ModuleList", module)

    def __delitem__(self, index):
        items = list(self._modules.values())
        del items[index]
        self._renumber(items)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your own forward()")


class ModuleDict(Module):
    """A dict of layers by name, registered with the owning module (keys are the names)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def __setitem__(self, key, module):
        self.add_module(str(key), _check_module("ModuleDict", module))

    def __getitem__(self, key):
        return self._modules[key]

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        return self._modules.pop(key)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): look its layers up in your own forward()")


class ParameterList(Module):
    """A list of Parameters registered with the owning module (names "0", "1", …)."""

    def __init__(self, values=None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value):
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

class ParameterDict(Module):
    """A dict of Parameters by name, registered with the owning module."""

    def __init__(self, parameters=None):
        super().__init__()
        for key, value in (parameters.items() if hasattr(parameters, "items") else parameters or ()):
            self[key] = value

    def __setitem__(self, key, value):
        self.register_parameter(str(key), _as_parameter(value))

    def __getitem__(self, key):
        return self._parameters[key]

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

def _as_parameter(value):
    return value if isinstance(value, Parameter) else Parameter(value)
