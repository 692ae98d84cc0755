"""Export a model to ONNX, to run it with onnxruntime or anything else that reads ONNX.

    >>> import chainrule as cr
    >>> cr.onnx.export(model, "model.onnx", sample_input)          # doctest: +SKIP

How: the model runs once on ``sample_input`` in eval mode while every layer's call is recorded
(forward hooks) and the engine records the operations between layers. Walking back from the output,
each layer becomes its ONNX operator(s) (:mod:`chainrule.onnx.layers`, :mod:`chainrule.onnx.recurrent`;
``chainrule.keras``'s channels-last layers :mod:`chainrule.onnx.keras_layers`,
:mod:`chainrule.onnx.keras_recurrent`) and each operation between layers its ONNX twin
(:mod:`chainrule.onnx.functions`), so Sequential models, Modules with their own ``forward``, trees of
them and Keras ``Sequential`` and functional models all export. Parameters keep their state_dict names.
The graph is built with ``onnx.helper`` (``pip install "chainrule[onnx]"``).
"""

from chainrule.onnx.exporter import export

__all__ = ["export"]
