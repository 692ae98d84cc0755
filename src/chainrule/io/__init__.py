"""Files: models (JSON architecture + safetensors weights in one file) and weights alone.

No pickle anywhere; loading runs no code from the file (see :mod:`chainrule.io.model_file`).
"""

from chainrule.io.model_file import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
