"""``cr.save(obj, path)`` / ``cr.load(path)``: PyTorch's pair, without pickle.

``obj`` is a state_dict or any nested dict/list/tuple of tensors, arrays, numbers, strings and None.
It goes into one safetensors file: the tensors as its tensors, the rest as JSON in its metadata
(:mod:`chainrule.io.tree`). Anything else (a module, a function) is refused with a clear error rather
than pickled, and loading runs no code. Arrays come back as Tensors, as ``torch.load`` gives them.
"""

import os
import tempfile

from chainrule.autograd.tensor import Tensor
from chainrule.errors import ChainruleError, FormatError
from chainrule.io import safetensors_file, tree

FORMAT = "chainrule.save"
VERSION = "1"


def save(obj, f):
    """Write ``obj`` (tensors, numbers, strings in dicts, lists and tuples) to the file ``f``.

    ``f`` is a path, or a binary file object such as ``io.BytesIO()`` (written at its position).
    """
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        raise ChainruleError(f"cr.save: a whole {type(obj).__name__} would need pickle, which chainrule "
                             "never uses: save its state_dict() (cr.save(model.state_dict(), path)) and "
                             "load it with model.load_state_dict(cr.load(path)); or use save_model, which "
                             "keeps the architecture too")
    tensors = {}
    text = tree.encode(obj, tensors, prefix="t")
    metadata = {"format": FORMAT, "version": VERSION, "tree": text}
    if hasattr(f, "write"):
        f.write(safetensors_file.encode(tensors, metadata))
    else:
        safetensors_file.write(os.fspath(f), tensors, metadata)


def load(f, map_location=None, weights_only=True):
    """Read what :func:`save` wrote; ``map_location`` moves the tensors (``"cpu"`` without a GPU).

    ``weights_only`` is accepted for PyTorch code: nothing but data is ever loaded here. ``f`` is a
    path, or a binary file object (read from its position to its end).
    """
    if hasattr(f, "read"):
        # the checks that guard a file read from a path guard the bytes too: they go through one
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "loaded.safetensors")
            with open(path, "wb") as copy:
                copy.write(f.read())
            return load(path, map_location)
    path = os.fspath(f)
    tensors, metadata = safetensors_file.read(path)
    if metadata.get("format") != FORMAT or "tree" not in metadata:
        raise FormatError(f"{path}: expected a file written by chainrule.save, got a safetensors file "
                          f"without its tree (format {metadata.get('format')!r}); a model file loads with "
                          "chainrule.load_model, weights with Model.load_weights")
    if metadata.get("version") != VERSION:
        raise FormatError(f"{path}: written by a newer chainrule.save (version {metadata.get('version')}); "
                          "upgrade chainrule to read it")
    try:
        value = tree.decode(metadata["tree"], tensors)
    except (KeyError, ValueError) as error:
        raise FormatError(f"{path}: its tree does not match its tensors ({error}); the file is "
                          "corrupted, save it again") from None
    return _as_tensors(value, map_location)


def _as_tensors(value, map_location):
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        tensor = Tensor(value)
        return tensor if map_location is None else tensor.to(map_location)
    if isinstance(value, list):
        return [_as_tensors(v, map_location) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_tensors(v, map_location) for v in value)
    if isinstance(value, dict):
        return {k: _as_tensors(v, map_location) for k, v in value.items()}
    return value
