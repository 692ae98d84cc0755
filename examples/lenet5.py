"""LeNet-5 on MNIST: convolutions and pooling before the fully connected layers.

    python examples/lenet5.py           # 10 epochs
    python examples/lenet5.py --quick   # 1 epoch on 300 digits (what the tests run)
"""

import os
import sys

import chainrule as cr
from chainrule import nn
from chainrule.data import mnist

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
cr.manual_seed(0)

(x_train, y_train), (x_test, y_test) = mnist.load()
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:300], y_train[:300], x_test[:100], y_test[:100]
x_train = x_train.reshape(-1, 1, 28, 28).astype("float32") / 255     # NCHW: one gray channel
x_test = x_test.reshape(-1, 1, 28, 28).astype("float32") / 255

model = cr.Sequential([
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),    # 6 x 14 x 14
    nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),              # 16 x 5 x 5
    nn.Flatten(),                                                              # 400
    nn.Dense(120, activation="relu"),
    nn.Dense(84, activation="relu"),
    nn.Dense(10, activation="softmax"),
])
model.summary(input_shape=(1, 28, 28))                                         # 61,706 parameters

model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              optimizer=cr.optim.SGD(lr=0.01, momentum=0.9))
model.fit(x_train, y_train, batch_size=128, epochs=1 if QUICK else 10, validation_split=0.1)
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy: {accuracy:.4f}")
