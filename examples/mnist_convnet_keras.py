"""keras.io's "Simple MNIST convnet", with only its imports changed: ``from chainrule import keras``.

    python examples/mnist_convnet_keras.py           # 15 epochs; the full MNIST if cached, else 4,000 digits
    python examples/mnist_convnet_keras.py --quick   # 1 epoch on 600 digits (what the tests run)

Everything below the imports is the keras.io listing (channels-last images, Keras's Adam, 34,826
parameters); only the QUICK lines are ours.
"""

import os
import sys

import numpy as np

from chainrule import keras
from chainrule.keras import layers

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
keras.utils.set_random_seed(0)

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:600], y_train[:600], x_test[:200], y_test[:200]

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 1 if QUICK else 15

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

model.save("convnet.keras")  # our safetensors model file, whatever the suffix
print("reloaded:", keras.models.load_model("convnet.keras").count_params(), "parameters")
