"""PyTorch's names for the nodes of a graph: what ``print(loss.grad_fn)`` shows a lecture.

PyTorch names each backward node after the function that made it (``SumBackward0``,
``AddmmBackward0``, ``NllLossBackward0``); its tutorials print them, and ``tensor(2.5,
grad_fn=<MeanBackward0>)`` is how a tensor with a history prints. A primitive here is named its class
name + ``Backward0`` unless this table says otherwise. Where one primitive stands for several PyTorch
functions (``mean`` is a sum times 1/n; ``t()``, ``transpose`` and ``permute`` are all a
``Transpose``), the function that made it names its node with :func:`named`.
"""

PYTORCH_NAMES = {  # primitive class -> PyTorch's name where the class name + "Backward0" is not it
    "Linear": "AddmmBackward0",  # F.linear with a bias (without one, linear names it MmBackward0)
    "MatMul": "MmBackward0",  # 2-D @ 2-D; the vector and batched forms are named by matmul
    "Transpose": "PermuteBackward0",
    "Reshape": "ViewBackward0",
    "BroadcastTo": "ExpandBackward0",
    "SumTo": "SumBackward1",
    "Concatenate": "CatBackward0",
    "Pad": "ConstantPadNdBackward0",
    "GetItem": "IndexBackward0",  # an int is SelectBackward0, a slice SliceBackward0: named by getitem
    "Clip": "ClampBackward1",
    "Cast": "ToCopyBackward0",
    "Log1p": "Log1PBackward0",
    "LogSumExp": "LogsumexpBackward0",
    "CumSum": "CumsumBackward0",
    "Max": "MaxBackward1",  # of the whole tensor; along a dim it is MaxBackward0
    "Min": "MinBackward1",
    "Convolution": "ConvolutionBackward0",
    "MaxPool": "MaxPool2DWithIndicesBackward0",
    "AvgPool": "AvgPool2DBackward0",
    "BatchNormalize": "NativeBatchNormBackward0",
    "SoftmaxCrossEntropy": "NllLossBackward0",  # F.cross_entropy ends in nll_loss in PyTorch
    "SigmoidBinaryCrossEntropy": "BinaryCrossEntropyWithLogitsBackward0",
    "EmbeddingLookup": "EmbeddingBackward0",
    "ScaleByMask": "MulBackward0",  # dropout's mask
}


def pytorch_name(op):
    """The name PyTorch gives the node that ``op`` stands for."""
    given = op.__dict__.get("pytorch_name")
    if given is not None:
        return given
    cls = type(op).__name__
    return PYTORCH_NAMES.get(cls, cls + "Backward0")


def named(tensor, name, source=None):
    """Name the node that made ``tensor`` (if a graph recorded one) as PyTorch names it; returns ``tensor``.

    Nothing is named when ``tensor`` is ``source`` itself (a reshape to the same shape returns its
    input: its own node keeps its name).
    """
    node = getattr(tensor, "_node", None)
    if node is not None and tensor is not source:
        node.pytorch_name = name
    return tensor
