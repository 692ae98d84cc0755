"""An autoencoder on MNIST: 784 → 32 → 784, and pictures of what it learnt.

    python examples/autoencoder.py           # 50 epochs
    python examples/autoencoder.py --quick   # 1 epoch on 500 digits (what the tests run)
"""

import os
import sys

import chainrule as cr
from chainrule import plots
from chainrule.data import mnist

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
cr.manual_seed(0)

(x_train, _), (x_test, _) = mnist.load()
if QUICK:
    x_train, x_test = x_train[:500], x_test[:100]
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

encoder = cr.nn.Dense(32, activation="relu", input_shape=(784,))      # the code: 32 numbers per digit
decoder = cr.nn.Dense(784, activation="sigmoid")                      # back to 784 pixels in [0, 1]
autoencoder = cr.Sequential([encoder, decoder])
autoencoder.summary()                                                 # 50,992 parameters

autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.fit(x_train, x_train, epochs=1 if QUICK else 50, batch_size=256, shuffle=True,
                validation_data=(x_test, x_test))                     # the input is its own target

reconstructed = autoencoder.predict(x_test[:10])
print("digits and reconstructions:", plots.image_grid([x_test[:10], reconstructed], "autoencoder_digits.png",
                                                      row_titles=["input", "output"]))
print("what the 32 code units look for:", plots.weight_images(encoder.weight, "autoencoder_weights.png"))
