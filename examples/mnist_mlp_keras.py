"""The lecture's MNIST MLP, Keras-style: Sequential, compile, fit, evaluate, save.

    python examples/mnist_mlp_keras.py           # 20 epochs (early stopping), about 94% on the embedded data
    python examples/mnist_mlp_keras.py --quick   # 1 epoch on 500 digits (what the tests run)
"""

import os
import sys

import chainrule as cr
from chainrule.data import mnist

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
cr.manual_seed(0)

(x_train, y_train), (x_test, y_test) = mnist.load()     # embedded 5,000 digits offline
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:500], y_train[:500], x_test[:200], y_test[:200]
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = cr.data.to_categorical(y_train, 10)            # one-hot rows, as categorical_crossentropy wants
y_test = cr.data.to_categorical(y_test, 10)

model = cr.Sequential([
    cr.nn.Dense(512, activation="relu", input_shape=(784,)),
    cr.nn.Dropout(0.2),
    cr.nn.Dense(512, activation="relu"),
    cr.nn.Dropout(0.2),
    cr.nn.Dense(10, activation="softmax"),
])
model.summary()

# Keras's RMSprop defaults: learning rate 0.001, decay ρ = 0.9
model.compile(loss="categorical_crossentropy", optimizer=cr.optim.RMSprop(lr=0.001, alpha=0.9),
              metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=128, epochs=1 if QUICK else 20, validation_split=0.1,
                    callbacks=[cr.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])

loss, accuracy = model.evaluate(x_test, y_test)
print(f"test loss: {loss:.4f}")
print(f"test accuracy: {accuracy:.4f}")

model.save("mlp.chainrule")                              # one file: architecture + weights, no pickle
same = cr.load_model("mlp.chainrule")
print("reloaded model agrees:", bool(abs(same.predict(x_test[:5]) - model.predict(x_test[:5])).max() < 1e-6))
