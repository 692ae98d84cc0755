"""Checks of what a file says, made before anything is built, allocated or changed.

Each function takes a value parsed from a file and either returns it (normalised) or raises a
:class:`FormatError` naming the file, the entry, what was expected and what came. Loading and resuming
run every check first and change the model, the optimiser and the random stream only afterwards, so a
bad file leaves them exactly as they were.
"""

import math
import numbers

import numpy

from chainrule.errors import FormatError

# dtypes an input_spec may name: numbers only, so a file cannot name anything else for numpy.dtype()
INPUT_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "bool")
MAX_INPUT_ELEMENTS = 1 << 24  # the dry forward pass that builds lazy layers uses one sample this large


def _integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def input_spec(spec, path):
    """``{"shape": [None or size, ...], "dtype": name}`` with a known numeric dtype and a sane size."""
    if spec is None:
        return None
    shape = spec.get("shape") if isinstance(spec, dict) else None
    if not (isinstance(shape, list) and 1 <= len(shape) <= 32
            and all(s is None or (_integer(s) and s >= 0) for s in shape)):
        raise FormatError(f"{path}: expected an input_spec {{'shape': [null, 784], 'dtype': 'float32'}}, got "
                          f"{spec!r:.100}; hint: the file is corrupted")
    dtype = spec.get("dtype", "float32")
    if dtype not in INPUT_DTYPES:
        raise FormatError(f"{path}: expected the input_spec dtype to be one of {', '.join(INPUT_DTYPES)}, "
                          f"got {dtype!r:.60}; hint: the file is corrupted")
    elements = math.prod(1 if s is None else s for s in shape)
    if elements > MAX_INPUT_ELEMENTS:
        raise FormatError(f"{path}: expected an input_spec of at most {MAX_INPUT_ELEMENTS} values per "
                          f"sample, got shape {shape}; hint: the file is corrupted or hostile")
    return {"shape": list(shape), "dtype": dtype}


def _names(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def compile_config(config, path):
    """``{"loss": name or None, "loss_function": name?, "metrics": [names], "optimizer": {...}?}``.

    A model of several outputs (a Keras functional model) has one loss name per output, its
    ``loss_weights`` and a list of metric names per output.
    """
    if config is None:
        return None
    problem = None
    several = isinstance(config, dict) and isinstance(config.get("loss"), list)
    if not isinstance(config, dict):
        problem = f"a JSON object, got {type(config).__name__}"
    elif several:
        if not (_names(config["loss"]) and isinstance(config.get("loss_weights"), list)
                and len(config["loss_weights"]) == len(config["loss"])
                and all(_real(w) for w in config["loss_weights"])
                and isinstance(config.get("metrics"), list) and len(config["metrics"]) == len(config["loss"])
                and all(_names(m) for m in config["metrics"])):
            problem = f"a loss name, a weight and a list of metric names per output, got {config!r:.100}"
    elif not (config.get("loss") is None or isinstance(config.get("loss"), str)):
        problem = f"'loss' to be a name, got {config.get('loss')!r:.60}"
    elif not isinstance(config.get("loss_function", ""), str):
        problem = f"'loss_function' to be a name, got {config.get('loss_function')!r:.60}"
    elif config.get("loss") is None and "loss_function" not in config:
        problem = "a 'loss' name, got none"
    elif not (isinstance(config.get("metrics", []), list) and all(isinstance(m, str) for m in
                                                                    config.get("metrics", []))):
        problem = f"'metrics' to be a list of names, got {config.get('metrics')!r:.60}"
    if problem is None and "optimizer" in config:
        entry = config["optimizer"]
        if not (isinstance(entry, dict) and isinstance(entry.get("class_name"), str)
                and isinstance(entry.get("config", {}), dict)):
            problem = f"'optimizer' as {{'class_name': name, 'config': {{...}}}}, got {entry!r:.80}"
    if problem:
        raise FormatError(f"{path}: expected the compile settings as {problem}; hint: the file is corrupted, "
                          "or load with compile=False and compile in code")
    return config


def weights_match(entries, found, path, owner):
    """Check the file's tensors ``found`` ({name: (dtype, shape)}) against a module's ``entries``.

    ``entries`` maps the names of ``state_dict`` to the module's tensors. Missing, unexpected and
    wrongly shaped names, and a non-floating array for a floating parameter, are all listed at once.
    """
    missing = [k for k in entries if k not in found]
    unexpected = [k for k in found if k not in entries]
    wrong = []
    for key, tensor in entries.items():
        if key not in found:
            continue
        dtype, shape = found[key]
        if tuple(shape) != tuple(tensor.shape):
            wrong.append(f"{key}: expected shape {tuple(tensor.shape)}, got {tuple(shape)}")
        elif (tensor.dtype.kind == "f") != (dtype.kind == "f"):
            wrong.append(f"{key}: expected a {tensor.dtype.name} array, got {dtype.name}")
    if missing or unexpected or wrong:
        problems = ([f"missing {', '.join(missing[:10])}"] if missing else []) + \
                   ([f"unexpected {', '.join(unexpected[:10])}"] if unexpected else []) + wrong[:10]
        raise FormatError(f"{path}: expected weights matching {owner}, got {'; '.join(problems)}; hint: is "
                          "this file from another model? nothing was changed")


def optimizer_state(optimizer, state, path, what="optimiser state"):
    """Check a saved ``optimizer.state_dict()`` against the optimiser and the parameters it is bound to."""
    name = type(optimizer).__name__

    def bad(problem):
        return FormatError(f"{path}: expected the {what} of {name}, got {problem}; hint: the file is "
                           "corrupted or from another model (load with compile=False to skip it)")

    if not (isinstance(state, dict) and isinstance(state.get("param_groups"), list)
            and isinstance(state.get("state"), dict)):
        raise bad(f"{state!r:.80} (it needs 'state' and 'param_groups')")
    groups = state["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        raise bad(f"{len(groups)} parameter groups where the optimiser has {len(optimizer.param_groups)}")
    owners = []  # (parameter, the group's hyperparameters as saved)
    for i, (saved, group) in enumerate(zip(groups, optimizer.param_groups)):
        if not (isinstance(saved, dict) and isinstance(saved.get("params"), list)
                and len(saved["params"]) == len(group["params"])):
            raise bad(f"group {i} as {saved!r:.80} (expected {len(group['params'])} parameters)")
        for key, value in saved.items():
            if key != "params" and not _like(value, group.get(key, _UNKNOWN)):
                raise bad(f"hyperparameter '{key}' = {value!r:.40} in group {i} (expected a value like "
                          f"{group.get(key, 'no such hyperparameter')!r:.40})")
        merged = {**group, **{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}}
        owners.extend((p, merged) for p in group["params"])
    flat = type(optimizer).import_state is not _base_import_state()  # L-BFGS keeps whole-model vectors
    for index, entry in state["state"].items():
        if not (_integer(index) and 0 <= index < len(owners) and isinstance(entry, dict)):
            raise bad(f"a state entry {index!r:.20}: {entry!r:.60} (expected parameter index: "
                      "{name: value})")
        if not flat:
            _parameter_state(optimizer, owners[index], entry, bad, index)


class _Unknown:
    pass


_UNKNOWN = _Unknown()


def _base_import_state():
    from chainrule.optim.optimizer import Optimizer

    return Optimizer.import_state


def _like(value, current):
    """Whether a saved hyperparameter has the kind of the current one (numbers finite, lists as long)."""
    if current is _UNKNOWN:  # a hyperparameter this optimiser does not have
        return False
    if current is None:
        return value is None or _real(value)
    if isinstance(current, (bool, str)):
        return type(value) is type(current)
    if isinstance(current, numbers.Real):
        return _real(value)
    if isinstance(current, (tuple, list)):
        return isinstance(value, list) and len(value) == len(current) and \
            all(_like(v, c) for v, c in zip(value, current))
    return False


def _parameter_state(optimizer, owner, entry, bad, index):
    """One parameter's state: every key a fresh state has, arrays shaped like the parameter."""
    p, group = owner
    fresh = optimizer.init_state(numpy.zeros((0,), dtype=p.dtype), group)
    for key in fresh:
        if key not in entry:
            raise bad(f"no '{key}' in the state of parameter {index}")
    for key, value in entry.items():
        if isinstance(value, numpy.ndarray):
            if value.shape != tuple(p.shape) or value.dtype.kind not in "fiu":
                raise bad(f"state '{key}' of parameter {index} with shape {value.shape} ({value.dtype}), "
                          f"where the parameter has shape {tuple(p.shape)}")
        elif isinstance(fresh.get(key), numpy.ndarray):
            raise bad(f"state '{key}' of parameter {index} as {type(value).__name__}, expected an array")
        elif _integer(fresh.get(key)) and not (_integer(value) and value >= 0):
            raise bad(f"state '{key}' of parameter {index} = {value!r:.40}, expected a count >= 0")
        elif not (value is None or _real(value) or _integer(value)):
            raise bad(f"state '{key}' of parameter {index} = {value!r:.40}, expected a number or an array")


def random_state(state, path):
    """A saved state of chainrule.random's generator, tried on a throwaway generator of the same kind."""
    from chainrule import random as cr_random

    kind = type(cr_random.generator().bit_generator)
    problem = None
    if not (isinstance(state, dict) and state.get("bit_generator") == kind.__name__):
        problem = f"a {kind.__name__} state, got {state!r:.80}"
    else:
        try:
            kind().state = state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            problem = f"a {kind.__name__} state that NumPy accepts, got one it refuses ({error})"
    if problem:
        raise FormatError(f"{path}: expected the random stream's state as {problem}; hint: the checkpoint is "
                          "corrupted; nothing was changed")
    return state


def training_state(training, path):
    """The 'training' entry of a checkpoint: epoch, random state, history, callbacks, optimisers."""
    problem = None
    if not isinstance(training, dict):
        problem = f"a JSON object, got {type(training).__name__}"
    elif not (_integer(training.get("epoch")) and training["epoch"] >= 0):
        problem = f"'epoch' as a count >= 0, got {training.get('epoch')!r:.40}"
    elif not (isinstance(training.get("history"), dict)
              and all(isinstance(v, list) for v in training["history"].values())):
        problem = f"'history' as {{name: [values]}}, got {training.get('history')!r:.60}"
    elif not (isinstance(training.get("history_epochs"), list)
              and all(_integer(e) for e in training["history_epochs"])):
        problem = f"'history_epochs' as a list of epochs, got {training.get('history_epochs')!r:.60}"
    elif not (training.get("split_seed") is None or _integer(training["split_seed"])):
        problem = f"'split_seed' as an integer, got {training.get('split_seed')!r:.40}"
    elif not isinstance(training.get("callbacks", {}), dict):
        problem = f"'callbacks' as {{name: state}}, got {training.get('callbacks')!r:.60}"
    elif not (isinstance(training.get("optimizers", {}), dict)
              and all(isinstance(k, str) for k in training.get("optimizers", {}))):
        problem = f"'optimizers' as {{attribute: state}}, got {training.get('optimizers')!r:.60}"
    else:
        problem = _callback_states(training.get("callbacks", {})) or _distributed_state(training)
    if problem:
        raise FormatError(f"{path}: expected the training state with {problem}; hint: the checkpoint is "
                          "corrupted; nothing was changed")
    random_state(training.get("random_state"), path)
    for state in (training.get("distributed") or {}).get("random_states") or []:
        random_state(state, path)
    return training


def _distributed_state(training):
    """A problem with the part a run on several ranks saves (shuffle seed, the ranks' random states)."""
    state = training.get("distributed")
    if state is None:
        return None
    if not (isinstance(state, dict) and (state.get("shuffle_seed") is None or _integer(state["shuffle_seed"]))
            and (state.get("random_states") is None or isinstance(state["random_states"], list))):
        return f"'distributed' as {{shuffle_seed, random_states}}, got {state!r:.60}"
    return None


# the state that chainrule's own callbacks save ("EarlyStopping#0": {...}); each field is a count, a
# number (the best value may be ±inf) or None, and EarlyStopping's best weights a {name: array} or None
CALLBACK_STATES = {"EarlyStopping": ("wait", "best", "best_epoch"), "ReduceLROnPlateau": ("wait", "best",
                   "cooldown_counter"), "ModelCheckpoint": ("best",)}


def _callback_states(states):
    """A problem with the saved state of one of chainrule's callbacks, or None."""
    for key, state in states.items():
        fields = CALLBACK_STATES.get(str(key).split("#")[0])
        if fields is None:
            continue  # a user's callback: its own set_state judges its state
        if not (isinstance(state, dict) and all(f in state for f in fields)):
            return f"the state of callback '{key}' holding {', '.join(fields)}, got {state!r:.80}"
        for field in fields:
            value = state[field]
            if not (value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                                      and not math.isnan(value))):
                return f"'{field}' of callback '{key}' as a number, got {value!r:.40}"
        weights = state.get("best_weights")
        if not (weights is None or (isinstance(weights, dict) and
                                    all(isinstance(v, numpy.ndarray) for v in weights.values()))):
            return f"'best_weights' of callback '{key}' as {{name: array}}, got {weights!r:.60}"
    return None
