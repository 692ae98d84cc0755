"""What a trained LeNet-5 looks at and what its filters learnt, as pictures (the docs' images).

    python examples/explain_lenet5.py [MODEL.chainrule] [--out DIR]   # else trains LeNet-5 for 5 epochs
    python examples/explain_lenet5.py --quick                         # 1 epoch on 300 digits (the tests)

Writes explain_saliency.png, explain_filters.png, explain_feature_maps.png,
explain_top_activations.png, explain_maximize.png, explain_graph.dot (and .png with Graphviz) and,
when onnxruntime is installed, checks the ONNX export against chainrule.
"""

import os
import sys
from pathlib import Path

import numpy

import chainrule as cr
from chainrule import plots, zoo
from chainrule.zoo.mnist_data import load_digits

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
OUT = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else Path(".")
OUT.mkdir(parents=True, exist_ok=True)
FILES = [a for a in sys.argv[1:] if a.endswith(".chainrule")]
cr.manual_seed(0)

(x_train, y_train), (x_test, y_test) = load_digits(limit=300 if QUICK else None, shape="image")
if FILES:
    model = cr.load_model(FILES[0])
else:
    model = zoo.get("lenet5").build()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.SGD(lr=0.01, momentum=0.9),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=1 if QUICK else 5, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")

# 1. which pixels the prediction depends on: integrated gradients from a black image
digits = x_test[:4]
maps = cr.explain.saliency(model, digits, method="integrated_gradients", steps=64)
predicted = model.predict(digits).argmax(axis=1)
plots.saliency(digits[0], maps[0], OUT / "explain_saliency.png",
               title=f"LeNet-5 predicts {predicted[0]}: integrated gradients")

# 2. the first layer's six 5x5 filters, and what they make of a digit
plots.filters(model[0], OUT / "explain_filters.png", title="LeNet-5: the first layer's six filters")
plots.feature_maps(model, "1", digits[0], OUT / "explain_feature_maps.png", columns=6,
                   title="the six feature maps of the first layer (after ReLU)")

# 3. the test digits that excite four filters of the second convolution most
top = cr.explain.top_activations(model, "4", x_test[:500], k=8)
plots.image_grid([top.inputs(x_test[:500], unit)[:, 0] for unit in range(4)],
                 OUT / "explain_top_activations.png", row_titles=[f"filter {u}" for u in range(4)],
                 title="the eight test digits that excite filters 0-3 of the second convolution most")

# 4. the input gradient ascent draws for each class (the last layer's units)
drawings = [cr.explain.maximize_activation(model, "9", unit=c, input_shape=(1, 28, 28),
                                           steps=20 if QUICK else 150, lr=0.5, l2=1e-3)[0][0]
            for c in range(10)]
plots.digit_grid(numpy.stack(drawings), OUT / "explain_maximize.png", columns=10,
                 title="inputs that maximise each class's probability, 0 to 9")

# 5. the recorded graph, and the ONNX export checked against chainrule
with cr.enable_grad():
    output = model(cr.tensor(digits[:1]))
dot = cr.explain.graph(output, model=model)
(OUT / "explain_graph.dot").write_text(dot)
try:
    cr.explain.render(dot, OUT / "explain_graph.png", dpi=60)
except cr.ChainruleError as error:
    print(f"(no graph picture: {error})")
try:
    import onnxruntime
except ModuleNotFoundError:
    print("(onnxruntime is not installed: the ONNX export is not checked)")
else:
    cr.onnx.export(model, OUT / "lenet5.onnx", digits)
    session = onnxruntime.InferenceSession(str(OUT / "lenet5.onnx"), providers=["CPUExecutionProvider"])
    difference = numpy.abs(session.run(None, {"input": x_test[:7]})[0] - model.predict(x_test[:7])).max()
    print(f"onnxruntime vs chainrule: largest difference {difference:.2e}")
print(f"pictures in {OUT.resolve()}")
