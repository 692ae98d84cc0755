"""Building a saved model without trusting its file: layers first, unfilled; arrays only once they fit.

``load_model`` builds the architecture with the initialisers switched off (``nn.init.skipped``): the
layers' arrays are reserved but never written, so a file that declares a 20000 x 20000 layer costs no
memory before the check that fails it. Lazy ``Dense`` layers take their input size from the file's
own weight shape, which the header check has already bounded by the file's size; other lazy layers
are built by one dry forward pass on a bounded input. Then every tensor the model has is compared with
the file's header (names, shapes, dtypes), and only then are the file's arrays read and put in place,
in the dtype they were saved in.
"""

import warnings

import numpy

from chainrule.autograd.tensor import mark_changed
from chainrule.errors import ChainruleError, FormatError
from chainrule.io import checks, registry


def unfilled(config, custom_objects, saved, spec):
    """The module ``config`` describes, built without initialising, checked against ``saved``'s header."""
    from chainrule.io.model_file import build_from_spec, from_architecture
    from chainrule.nn import init

    with init.skipped(), numpy.errstate(all="ignore"):
        try:
            module = from_architecture(config, custom_objects, saved.path)
            _build_lazy_dense(module, saved.weight_specs)
            build_from_spec(module, spec)
        except FormatError:
            raise
        except RecursionError:
            raise FormatError(f"{saved.path}: expected an architecture of reasonable depth, got one nested "
                              "too deeply to build; hint: the file is corrupted or hostile") from None
        except (MemoryError, OverflowError):
            raise FormatError(f"{saved.path}: expected layers of a size that can be built, got an "
                              "architecture too large for memory; hint: the file is corrupted or hostile") \
                from None
        except (ChainruleError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            raise FormatError(f"{saved.path}: expected an architecture that builds on its input_spec {spec}, "
                              f"got an error building it ({str(error)[:200]}); hint: the file is corrupted") \
                from None
    checks.weights_match(dict(module._state_entries()), saved.weight_specs, saved.path, type(module).__name__)
    return module


def _build_lazy_dense(module, found):
    """Build each lazy Dense with the input size of its weight in the file (checked to fit the file)."""
    from chainrule.nn import Dense

    for name, layer in module.named_modules():
        if isinstance(layer, Dense) and not layer.built:
            dtype_shape = found.get(f"{name}.weight" if name else "weight")
            if dtype_shape is not None and len(dtype_shape[1]) == 2 and dtype_shape[1][0] == layer.units:
                layer.build((None, dtype_shape[1][1]))


def fill(module, arrays):
    """Put the file's arrays in place of the unfilled ones; floating weights keep the file's dtype."""
    for name, tensor in module._state_entries():
        array = arrays[name]
        tensor.data = array if tensor.dtype.kind == "f" else array.astype(tensor.dtype)
        mark_changed(tensor)


class MissingLoss:
    """Stands in for a loss function that a file cannot hold; calling it says how to supply it."""

    def __init__(self, name, path):
        self.__name__ = name
        self.path = path

    def __call__(self, *args, **kwargs):
        name = self.__name__
        raise ChainruleError(f"{self.path}: the model was compiled with the loss function '{name}', which "
                             "was not given when loading; hint: cr.load_model(path, custom_objects="
                             f"{{'{name}': {name}}}), or model.compile(loss={name}, "
                             "optimizer=model.optimizer) to keep the loaded optimiser")


def compile_from(model, config, saved, custom_objects):
    """Compile ``model`` as the file's (checked) compile settings say, and restore the optimiser's state."""
    optimizer = None
    entry = config.get("optimizer")
    if entry is not None:
        optimizer_cls = registry.optimizer_class(entry["class_name"], saved.path)
        try:
            optimizer = optimizer_cls(**entry.get("config", {}))
        except (TypeError, ValueError) as error:
            raise FormatError(f"{saved.path}: expected {entry['class_name']} settings, got "
                              f"{entry.get('config')!r:.120} ({str(error)[:200]}); hint: load with "
                              "compile=False") from None
    loss = config.get("loss")
    if loss is None:
        name = config["loss_function"]
        loss = (custom_objects or {}).get(name)
        if loss is None:
            warnings.warn(f"{saved.path}: the loss function '{name}' is not in custom_objects; the model is "
                          "compiled with its optimiser, but fit and evaluate will ask for the loss; hint: "
                          f"load_model(path, custom_objects={{'{name}': {name}}})", UserWarning, stacklevel=3)
            loss = MissingLoss(name, saved.path)
    try:
        several = {"loss_weights": config["loss_weights"]} if "loss_weights" in config else {}  # per output
        model.compile(loss=loss, optimizer=optimizer, metrics=config.get("metrics"), **several)
    except (ValueError, TypeError, ChainruleError) as error:
        raise FormatError(f"{saved.path}: expected compile settings this chainrule knows, got "
                          f"{config!r:.120} ({str(error)[:200]}); hint: load with compile=False and "
                          "compile in code") from None
    state = saved.tree("optimizer_state")
    if state is not None and model.optimizer is not None and model.optimizer.param_groups:
        checks.optimizer_state(model.optimizer, state, saved.path)
        model.optimizer.load_state_dict(state)
