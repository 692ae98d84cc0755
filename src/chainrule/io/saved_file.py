"""A chainrule file as read back: its checked header, its metadata entries, and its arrays on demand.

Reading a :class:`SavedFile` reads only the safetensors header (see
:func:`chainrule.io.safetensors_file.read_header`): the names, dtypes and shapes of the weights are
known before any array is read, so a loader compares them with the model first. Metadata entries are
JSON parsed with a bounded depth; every problem is a :class:`FormatError` naming the file and entry.
"""

import re

from chainrule.errors import FormatError
from chainrule.io import bounded_json, safetensors_file, tree

MODEL_FORMAT = "chainrule.model"
WEIGHTS_FORMAT = "chainrule.weights"
FORMAT_VERSION = 1
_VERSION = re.compile(r"[0-9]{1,9}")


class SavedFile:
    """What a chainrule file holds: ``kind``, ``metadata``, ``weight_specs`` ({name: (dtype, shape)})."""

    def __init__(self, header, expected=None):
        path, metadata = header.path, header.metadata
        kind = metadata.get("format")
        if kind is None and expected == WEIGHTS_FORMAT:
            kind = WEIGHTS_FORMAT  # a plain safetensors file of weights (e.g. written by PyTorch) is fine
        if kind not in (MODEL_FORMAT, WEIGHTS_FORMAT):
            raise FormatError(f"{path}: expected a chainrule file (metadata format '{MODEL_FORMAT}'), got "
                              f"format {kind!r:.60}; hint: this safetensors file was not written by "
                              "chainrule's save(); load its weights with load_weights()")
        version = metadata.get("format_version", str(FORMAT_VERSION))
        if not _VERSION.fullmatch(version):
            raise FormatError(f"{path}: expected an integer format_version, got {version!r:.40}; hint: the "
                              "file is corrupted")
        if int(version) > FORMAT_VERSION:
            raise FormatError(f"{path}: expected format version {FORMAT_VERSION} or older, got version "
                              f"{version} (written by a newer chainrule "
                              f"{metadata.get('chainrule_version', '?')!s:.20}); hint: upgrade chainrule")
        if expected == MODEL_FORMAT and kind != MODEL_FORMAT:
            raise FormatError(f"{path}: expected a model file (architecture + weights), got a weights-only "
                              "file; hint: build the model in code and call model.load_weights(path)")
        self.path = path
        self.kind = kind
        self.metadata = metadata
        self.header = header
        self.weight_specs = {k: v for k, v in header.tensors.items() if not k.startswith("__")}

    def json(self, key):
        """The parsed JSON of metadata ``key``, or None when absent."""
        text = self.metadata.get(key)
        return None if text is None else bounded_json.loads(text, self.path, f"metadata '{key}'")

    def tree(self, key):
        """The nested state stored under metadata ``key`` (arrays read and restored), or None."""
        value = self.json(key)
        if value is None:
            return None
        names = tree.array_names(value)
        unknown = [n for n in names if not isinstance(n, str) or n not in self.header.tensors]
        if unknown:
            raise FormatError(f"{self.path}: expected the arrays that '{key}' refers to, got references to "
                              f"{unknown[0]!r:.60}, which the file does not hold; hint: the file is "
                              "corrupted")
        arrays = self.header.load(set(names))
        try:
            return tree.rebuild(value, arrays)
        except (KeyError, ValueError, TypeError) as error:
            raise FormatError(f"{self.path}: expected the '{key}' state and its arrays, got a broken entry "
                              f"({error!r:.120}); hint: the file is corrupted") from None

    def weights(self):
        """``{name: array}`` of the weights (every tensor whose name does not start with ``__``)."""
        return self.header.load(self.weight_specs)


def read(path, expected=None):
    """Read and check a chainrule file's header; ``expected`` is MODEL_FORMAT, WEIGHTS_FORMAT or None."""
    return SavedFile(safetensors_file.read_header(path), expected)
