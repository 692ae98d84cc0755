"""What the ONNX export tests share: export, check and run a model in onnxruntime beside chainrule."""

import numpy
import onnx
import onnxruntime as ort

import chainrule as cr
from chainrule.nn.modes import evaluating


def run_both(model, sample, tmp_path, batches=(1, 7), atol=1e-5):
    """Export on ``sample``; compare onnxruntime with chainrule at each batch size."""
    path = cr.onnx.export(model, tmp_path / "model.onnx", sample)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version <= onnx.IR_VERSION
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in batches:
        x = numpy.resize(sample, (batch, *sample.shape[1:])).astype(sample.dtype)
        got = session.run(None, {"input": x})
        with evaluating(model), cr.no_grad():
            want = model(cr.tensor(x))
        want = flat(want)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            numpy.testing.assert_allclose(g, w.data, atol=atol, rtol=1e-5)
    return proto


def flat(value):
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in flat(item)]
    return [value]


def images(shape, seed=0):
    return numpy.random.default_rng(seed).random(shape).astype("float32")
