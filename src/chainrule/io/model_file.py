"""Model files: the architecture as JSON and the weights as safetensors, in one file.

The file is a plain safetensors file (``safetensors.numpy.load_file`` reads its weights under their
PyTorch-style names, ``0.weight``, ``0.bias``, ...). Its ``__metadata__`` holds strings:

=================== ==========================================================================
``format``          ``"chainrule.model"`` (architecture + weights) or ``"chainrule.weights"``
``format_version``  ``"1"``; a reader refuses a file from a newer format version
``architecture``    JSON: ``{"class_name": "nn.Dense", "config": {...}}``, containers nested
                    under ``"layers"`` (and ``"names"``), a wrapping ``Model`` under ``"module"``
``input_spec``      JSON ``{"shape": [null, 784], "dtype": "float32"}``: builds lazy layers on load
``compile``         JSON: loss and metric names, optimiser class name and config (optional)
``optimizer_state`` JSON tree of the optimiser's state_dict; its arrays are the tensors named
                    ``__optimizer__/<n>`` (optional, ``include_optimizer=True``)
``training``        JSON tree: epoch, random-stream state, history, callback state (checkpoints)
=================== ==========================================================================

Loading runs no code from the file: class names resolve through :mod:`chainrule.io.registry`,
configs are keyword arguments, arrays are arrays. Every problem is a FormatError naming the file.
Nothing large is read or allocated before it is checked: the header first
(:mod:`chainrule.io.safetensors_file`), then each metadata entry (:mod:`chainrule.io.checks`), then
the architecture built unfilled and compared with the header (:mod:`chainrule.io.model_build`); only
then are the arrays read. The header is written with sorted keys, so saving is deterministic.
"""

import json
import warnings
from collections import OrderedDict

import numpy

from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, FormatError
from chainrule.gpu import module_of, move_array
from chainrule.io import registry, safetensors_file, tree
from chainrule.io.saved_file import FORMAT_VERSION, MODEL_FORMAT, WEIGHTS_FORMAT, SavedFile, read

__all__ = ["FORMAT_VERSION", "MODEL_FORMAT", "WEIGHTS_FORMAT", "SavedFile", "architecture",
           "from_architecture", "load_model", "load_weights", "load_weights_into", "read", "save_model",
           "save_weights"]
OPTIMIZER_PREFIX = "__optimizer__/"
TRAINING_PREFIX = "__training__/"


# ---------------------------------------------------------------- architecture <-> modules
def architecture(module, custom_objects=None):
    """The JSON-able description of ``module``: class names from the registry and get_config()."""
    from chainrule.nn import ModuleList, Sequential
    Model = registry.model_class()  # noqa: N806 - the class, registered by chainrule.train

    cls = type(module)
    name = registry.name_of(cls, custom_objects)
    if name is None:
        raise ChainruleError(f"cannot save {cls.__name__}: it is not a registered layer class; hint: save "
                             "the weights with save_weights() and rebuild the model in code, or give the "
                             "class a get_config() and load with custom_objects={'"
                             f"{cls.__name__}': {cls.__name__}}}")
    if isinstance(module, (Sequential, ModuleList)):
        entry = {"class_name": name, "config": {"name": module.name} if hasattr(module, "name") else {}}
        entry["layers"] = [architecture(child, custom_objects) for child in module._modules.values()]
        names = list(module._modules)
        if names != [str(i) for i in range(len(names))]:
            entry["names"] = names
        return entry
    wiring = getattr(module, "graph_config", lambda: None)()
    if wiring is not None:  # layers wired as a graph (keras.Model(inputs, outputs)): its class rebuilds it
        return {"class_name": name, "config": module.get_config(), "graph": wiring,
                "layers": [architecture(child, custom_objects) for child in module._modules.values()]}
    if cls is Model:
        config = {"name": module.name} if isinstance(module.__dict__.get("name"), str) else {}
        return {"class_name": name, "config": config, "module": architecture(module.module, custom_objects)}
    if not hasattr(module, "get_config"):
        raise ChainruleError(f"cannot save {cls.__name__}: it has no get_config(); hint: save the weights "
                             "with save_weights() and rebuild the model in code")
    config = module.get_config()
    try:
        json.dumps(config)
    except (TypeError, ValueError) as error:
        raise ChainruleError(f"cannot save {cls.__name__}: its get_config() is not JSON-serialisable "
                             f"({error})") from None
    return {"class_name": name, "config": config}


def from_architecture(entry, custom_objects=None, path="<file>"):
    """Build an untrained module from :func:`architecture`'s description (no code from the file)."""
    from chainrule.nn import ModuleList
    Model = registry.model_class()  # noqa: N806 - the class, registered by chainrule.train

    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise FormatError(f"{path}: expected a layer entry {{'class_name': ..., 'config': {{...}}}}, got "
                          f"{entry!r:.100}; hint: the architecture JSON is corrupted")
    cls = registry.layer_class(entry["class_name"], custom_objects, path)
    config = entry.get("config") or {}
    if not isinstance(config, dict):
        raise FormatError(f"{path}: expected a dict as the config of {entry['class_name']}, got "
                          f"{type(config).__name__}")
    try:
        if "graph" in entry:
            children = [from_architecture(child, custom_objects, path) for child in entry.get("layers", [])]
            if not hasattr(cls, "from_graph"):
                raise FormatError(f"{path}: expected a class that rebuilds a graph of layers, got "
                                  f"{entry['class_name']} with a 'graph' entry; hint: the file is corrupted")
            return cls.from_graph(children, entry["graph"], path=path, **config)
        if "layers" in entry:
            children = [from_architecture(child, custom_objects, path) for child in entry["layers"]]
            if cls is ModuleList:
                return cls(children)
            names = entry.get("names")
            layers = OrderedDict(zip(names, children)) if names else children
            return cls(layers, **config)
        if "module" in entry:
            return Model(from_architecture(entry["module"], custom_objects, path), **config)
        return cls(**config)
    except FormatError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        raise FormatError(f"{path}: expected a config that {entry['class_name']} accepts, got "
                          f"{config!r:.120} ({str(error)[:200]}); hint: the file may come from another "
                          "version of chainrule") from None
    except (MemoryError, OverflowError):
        raise FormatError(f"{path}: expected layers of a size that can be built, got {entry['class_name']} "
                          f"with {config!r:.120}; hint: the file is corrupted or hostile") from None


def build_from_spec(module, spec):
    """Build lazy layers with one dry forward pass on zeros shaped as ``spec`` (batch of 1)."""
    if not spec or not any(getattr(m, "built", True) is False for m in module.modules()):
        return
    forward_on_zeros(module, spec)


def forward_on_zeros(module, spec):
    """One forward pass on zeros shaped as ``spec`` (batch of 1), in eval mode with no graph; a list of
    specs (a model of several inputs) gives one input each.

    Every submodule's training mode is restored afterwards (also when the pass raises).
    """
    inputs = []
    for one in spec if isinstance(spec, list) else [spec]:
        shape = [1 if size is None else size for size in one["shape"]]
        inputs.append(Tensor(module_of(module).zeros(shape, dtype=one.get("dtype", "float32"))))  # its device
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with no_grad():
            module(*inputs)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)


# ---------------------------------------------------------------- writing
def _base_metadata(kind, module):
    """The format, the versions and (when known) the module's input spec."""
    from chainrule import __version__

    metadata = {"format": kind, "format_version": str(FORMAT_VERSION), "chainrule_version": __version__}
    spec = getattr(module, "_input_spec", None)
    if spec:
        metadata["input_spec"] = json.dumps(spec)
    return metadata


def save_weights(module, path):
    """Save the parameters and buffers of ``module`` (keys as in ``state_dict``), atomically."""
    safetensors_file.write(path, _weight_tensors(module), _base_metadata(WEIGHTS_FORMAT, module))


def _weight_tensors(module):
    # numpy.require keeps 0-d arrays 0-d (ascontiguousarray would make them 1-d)
    return {k: numpy.require(move_array(v._data if isinstance(v, Tensor) else v, numpy), requirements="C")
            for k, v in module.state_dict().items()}


def save_model(model, path, include_optimizer=True, training_state=None, custom_objects=None):
    """Save architecture, weights, compile settings and (optionally) optimiser and training state."""
    build = getattr(model, "_build_if_possible", None)
    if build is not None:  # a model whose input shape is known is built by load_model: save all its weights
        build()
    metadata = _base_metadata(MODEL_FORMAT, model)
    metadata["architecture"] = json.dumps(architecture(model, custom_objects))
    tensors = _weight_tensors(model)
    compile_config = getattr(model, "_compile_config", lambda: None)()
    if compile_config is not None:
        metadata["compile"] = json.dumps(compile_config)
        _warn_about_loss_function(compile_config, path, custom_objects)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and optimizer.param_groups:
        metadata["optimizer_state"] = tree.encode(optimizer.state_dict(), tensors, OPTIMIZER_PREFIX)
    if training_state is not None:
        metadata["training"] = tree.encode(training_state, tensors, TRAINING_PREFIX)
    safetensors_file.write(path, tensors, metadata)


def _warn_about_loss_function(compile_config, path, custom_objects):
    """A loss given as a function cannot go into the file: say now what loading it will need."""
    name = compile_config.get("loss_function")
    if name is None or name in (custom_objects or {}):
        return
    warnings.warn(f"{path}: the model is compiled with the loss function '{name}', which a file cannot hold "
                  "(no pickle); the optimiser and its state are saved. Load it with cr.load_model(path, "
                  f"custom_objects={{'{name}': {name}}}) to get it back compiled with that loss",
                  UserWarning, stacklevel=4)


# ---------------------------------------------------------------- reading
def load_weights_into(module, saved):
    """Copy a SavedFile's weights into ``module``; names and shapes are checked first (FormatError)."""
    from chainrule.io import checks

    build_from_spec(module, checks.input_spec(saved.json("input_spec"), saved.path))
    checks.weights_match(dict(module._state_entries()), saved.weight_specs, saved.path, type(module).__name__)
    arrays = saved.weights()
    try:
        module.load_state_dict(arrays, strict=True)
    except ValueError as error:
        raise FormatError(f"{saved.path}: expected weights matching {type(module).__name__}, got {error}; "
                          "hint: is this file from another model?") from None


def load_weights(module, path):
    """Load weights saved by save_weights or save (any chainrule file; or a plain safetensors file)."""
    load_weights_into(module, read(path, WEIGHTS_FORMAT))


def load_model(path, compile=True, custom_objects=None):  # noqa: A002 - Keras's keyword
    """Rebuild a saved model: architecture, weights, and (with ``compile``) loss, metrics, optimiser.

    Every entry of the file is checked against the others before an array is read: the layers are
    built without initialising their weights, and their names, shapes and dtypes compared with the
    file's. The weights keep the dtype they were saved in.
    """
    from chainrule.io import checks, model_build

    Model = registry.model_class()  # noqa: N806 - the class, registered by chainrule.train

    saved = read(path, MODEL_FORMAT)
    config = saved.json("architecture")
    if config is None:
        raise FormatError(f"{saved.path}: expected an 'architecture' entry in the metadata, got none; "
                          "hint: the file is corrupted")
    spec = checks.input_spec(saved.json("input_spec"), saved.path)
    compile_config = checks.compile_config(saved.json("compile"), saved.path) if compile else None
    module = model_build.unfilled(config, custom_objects, saved, spec)
    model = module if isinstance(module, Model) else Model(module)
    if spec:
        model._input_spec = spec
    model_build.fill(module, saved.weights())
    if compile_config is not None:
        model_build.compile_from(model, compile_config, saved, custom_objects)
    return model
