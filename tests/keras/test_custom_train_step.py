"""A Keras 3 custom ``train_step(self, data)`` (the keras.io GAN pattern): compile without a loss, the
data as fit gives it, ``optimizer.apply(grads, variables)``, named values in the logs (#12)."""

import numpy
import pytest

from chainrule import keras
from chainrule.errors import ConfigError
from chainrule.keras import layers

REAL = numpy.random.default_rng(0).normal(3.0, 0.5, (64, 2)).astype("float32")


class GAN(keras.Model):
    def __init__(self, latent_dim=4):
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = keras.Sequential([keras.Input(shape=(latent_dim,)),
                                           layers.Dense(8, activation="relu"), layers.Dense(2)])
        self.discriminator = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(8),
                                               layers.LeakyReLU(0.2), layers.Dense(1)])

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()  # no loss: this model's train_step brings its own, as in Keras
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    def train_step(self, real_images):  # Keras 3's signature: the data as fit gives it
        batch = real_images.shape[0]
        noise = numpy.random.default_rng(batch).standard_normal((batch, self.latent_dim)).astype("float32")
        fake = self.generator(noise, training=True)
        scores = self.discriminator(layers.concatenate([fake, real_images], axis=0), training=True)
        labels = numpy.concatenate([numpy.ones((batch, 1)), numpy.zeros((batch, 1))]).astype("float32")
        self.zero_grad()
        d_loss = self.loss_fn(labels, scores)
        d_loss.backward()
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply([w.grad for w in weights], weights)
        self.zero_grad()
        g_loss = self.loss_fn(numpy.zeros((batch, 1), "float32"),
                              self.discriminator(self.generator(noise, training=True), training=True))
        g_loss.backward()
        self.g_optimizer.apply_gradients(zip([w.grad for w in self.generator.trainable_weights],
                                             self.generator.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


def test_a_keras_3_gan_train_step_runs_and_only_steps_the_weights_it_is_given():
    gan = GAN()
    gan.compile(keras.optimizers.Adam(learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01),
                keras.losses.BinaryCrossentropy(from_logits=True))
    generator_before = gan.generator.get_weights()
    discriminator_before = gan.discriminator.get_weights()
    history = gan.fit(REAL, epochs=2, batch_size=32, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.history["d_loss"]) == 2
    assert all(numpy.isfinite(history.history["g_loss"]))
    assert not any(numpy.array_equal(a, b) for a, b in zip(gan.generator.get_weights(), generator_before))
    assert not any(numpy.array_equal(a, b) for a, b in zip(gan.discriminator.get_weights(),
                                                           discriminator_before))
    assert gan.d_optimizer.iterations == gan.g_optimizer.iterations == 4


def test_a_train_step_of_data_gets_x_and_y_together_and_apply_refuses_foreign_weights():
    seen = []

    class Recorder(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            x, y = data
            seen.append((x.shape, y.shape))
            return {"batch": float(len(x))}

    model = Recorder()
    model.compile()
    model.fit(REAL, REAL[:, :1], epochs=1, batch_size=40, verbose=0)
    assert seen == [((40, 2), (40, 1)), ((24, 2), (24, 1))]
    optimizer = keras.optimizers.SGD()
    first, second = layers.Dense(1), layers.Dense(1)
    first(REAL), second(REAL)
    optimizer.apply([numpy.zeros_like(w.numpy()) for w in first.trainable_weights], first.trainable_weights)
    with pytest.raises(ConfigError, match="one optimizer per set of weights"):
        optimizer.apply([numpy.zeros_like(w.numpy()) for w in second.trainable_weights],
                        second.trainable_weights)
