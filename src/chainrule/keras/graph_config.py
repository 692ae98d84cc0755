"""A functional model's wiring as JSON, and the model rebuilt from it: what ``model.save`` writes for
``keras.Model(inputs, outputs)`` next to its layers' own configs.

The wiring names the inputs (shape, dtype, name) and each recorded call in the order the model runs
them: which layer (its position among the model's layers, the keys of its weights), on which
tensors, with which constant keyword arguments. A tensor is ``{"input": i}`` (the model's i-th input)
or ``{"node": j, "index": k}`` (the k-th output of call j). Rebuilding replays the calls on fresh
``keras.Input`` tensors; nothing in the file is run but the registered layers' own code.
"""

import json

from chainrule.errors import ChainruleError, FormatError
from chainrule.io.checks import input_spec
from chainrule.keras.layers.functional import Input, KerasTensor, _flatten


def encode(graph):
    """The JSON-able wiring of a :class:`~chainrule.keras.layers.functional.Graph`."""
    layer_index = {id(layer): i for i, layer in enumerate(graph.layers)}
    node_index = {id(node): j for j, node in enumerate(graph.nodes)}
    input_index = {id(t): i for i, t in enumerate(graph.inputs)}

    def tensor(value):
        if isinstance(value, KerasTensor):
            if id(value) in input_index:
                return {"input": input_index[id(value)]}
            return {"node": node_index[id(value.node)], "index": value.index}
        if isinstance(value, (list, tuple)):
            return [tensor(v) for v in value]
        return {"value": _constant(value)}

    nodes = []
    for node in graph.nodes:
        nodes.append({"layer": layer_index[id(node.layer)], "args": [tensor(a) for a in node.args],
                      "kwargs": _constant(node.kwargs)})
    outputs = [tensor(t) for t in graph.outputs]
    return {"inputs": [{"shape": list(t.shape), "dtype": t.dtype, "name": t.name} for t in graph.inputs],
            "nodes": nodes, "outputs": outputs[0] if graph.single_output else outputs}


def rebuild(layers, wiring, path="<file>"):
    """``(inputs, outputs)``: the saved calls replayed on new ``keras.Input`` tensors over ``layers``."""
    def bad(problem):
        return FormatError(f"{path}: expected a functional model's wiring, got {problem}; hint: the file is "
                           "corrupted")

    if not (isinstance(wiring, dict) and isinstance(wiring.get("inputs"), list) and wiring["inputs"]
            and isinstance(wiring.get("nodes"), list)):
        raise bad(f"{wiring!r:.100}")
    inputs = []
    for entry in wiring["inputs"]:
        spec = input_spec(entry, path)
        name = entry.get("name")
        inputs.append(Input(shape=tuple(spec["shape"][1:]), dtype=spec["dtype"],
                            name=name if isinstance(name, str) else None))
    made = []  # per call: its outputs, flattened

    def tensor(entry):
        if isinstance(entry, list):
            return [tensor(e) for e in entry]
        if not isinstance(entry, dict):
            raise bad(f"a tensor entry {entry!r:.60}")
        if "value" in entry:
            return entry["value"]
        if set(entry) == {"input"} and _index(entry["input"], len(inputs)):
            return inputs[entry["input"]]
        if set(entry) == {"node", "index"} and _index(entry["node"], len(made)) \
                and _index(entry["index"], len(made[entry["node"]])):
            return made[entry["node"]][entry["index"]]
        raise bad(f"a reference to a tensor that is not made before it: {entry!r:.60}")

    for node in wiring["nodes"]:
        if not (isinstance(node, dict) and _index(node.get("layer"), len(layers))
                and isinstance(node.get("args"), list) and isinstance(node.get("kwargs", {}), dict)):
            raise bad(f"a call entry {node!r:.80} (its layer among the {len(layers)} saved)")
        output = layers[node["layer"]](*[tensor(a) for a in node["args"]], **node.get("kwargs", {}))
        made.append(_flatten(output))
    return inputs, tensor(wiring.get("outputs"))


def _constant(value):
    """A constant argument of a recorded call, if a file can hold it (JSON); else a clear error."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ChainruleError(f"cannot save a functional model whose layer call takes {value!r:.80}: only "
                             "tensors, numbers, strings and lists are saved; hint: model.save_weights(path) "
                             "and rebuild the model in code") from None
    return value


def _index(value, size):
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size
