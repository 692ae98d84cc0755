"""A small fully connected GAN on MNIST digits.

A generator G turns noise z ~ N(0, I) (64 numbers) into a 28x28 image; a discriminator D scores an
image as real (1) or generated (0). They train in turns, each with binary cross-entropy on D's logit:

    D step:  minimise  BCE(D(x), 1) + BCE(D(G(z)), 0)      (tell real from fake)
    G step:  minimise  BCE(D(G(z)), 1)                      (fool D; the "non-saturating" loss)

The two players need two optimisers and alternate inside each batch, so the GAN is a ``cr.Model``
whose ``train_step`` does both steps and returns ``{"d_loss": ..., "g_loss": ...}``: the one loop,
``Model.fit``, averages them over each epoch into its logs (Keras's way of training a GAN). After
each epoch a callback draws a grid of samples from the same fixed noise, so the pictures show the
generator learning.

    gan = GANModel(*build())
    gan.compile()                                 # nothing to choose: the GAN has its two optimisers
    gan.fit(x_train, batch_size=64, epochs=30, callbacks=[SampleGrids(noise(40), "out/", print)])
"""

from pathlib import Path

import numpy

import chainrule as cr
from chainrule import gpu, nn
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.zoo import keras_run
from chainrule.zoo.entry import ZooModel
from chainrule.zoo.mnist_data import load_digits

LATENT_SIZE = 64
HIDDEN_SIZE = 256


def build_generator():
    """z (N, 64) → image (N, 784) in [0, 1]."""
    return nn.Sequential(nn.Linear(LATENT_SIZE, HIDDEN_SIZE), nn.LeakyReLU(0.2),
                         nn.Linear(HIDDEN_SIZE, 784), nn.Sigmoid())


def build_discriminator():
    """image (N, 784) → logit (N, 1) of "real"."""
    return nn.Sequential(nn.Linear(784, HIDDEN_SIZE), nn.LeakyReLU(0.2), nn.Linear(HIDDEN_SIZE, 1))


def build():
    """(generator, discriminator)."""
    return build_generator(), build_discriminator()


def noise(count, xp=numpy):
    """``count`` latent vectors drawn on ``xp``'s device (the generator's)."""
    if xp is not numpy:
        return Tensor(gpu.generator(xp).standard_normal((count, LATENT_SIZE), dtype=numpy.float32))
    return Tensor(cr.random.generator().standard_normal((count, LATENT_SIZE)).astype(numpy.float32))


class GANModel(cr.Model):
    """A generator and a discriminator trained in turns by ``fit``; calling it generates images.

    Each player has its own Adam optimiser (lr 2e-4, β₁ = 0.5, as DCGAN uses), kept as the attributes
    ``g_optimizer`` and ``d_optimizer``; ``compile()`` needs no arguments and ``fit(x)`` no targets.
    """

    def __init__(self, generator=None, discriminator=None, lr=2e-4):
        super().__init__()
        self.generator = generator if generator is not None else build_generator()
        self.discriminator = discriminator if discriminator is not None else build_discriminator()
        self.g_optimizer = cr.optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.d_optimizer = cr.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.lr = lr

    def get_config(self):
        """The constructor's settings, for model files (the two players are the default ones)."""
        return {"lr": self.lr}

    def forward(self, z):
        return self.generator(z)

    def train_step(self, x, y=None):
        """One discriminator step and one generator step on a batch of real images ``x`` (y unused)."""
        xp = gpu.module_of(self.generator)  # fit hands over each batch on the model's device
        real = x if isinstance(x, Tensor) else Tensor(gpu.move_array(x, xp).astype(numpy.float32, copy=False))
        count = len(real)
        ones = Tensor(xp.ones((count, 1), dtype=numpy.float32))
        zeros = Tensor(xp.zeros((count, 1), dtype=numpy.float32))
        with no_grad():
            fake = self.generator(noise(count, xp))
        self.d_optimizer.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(self.discriminator(real), ones) + \
            F.binary_cross_entropy_with_logits(self.discriminator(fake), zeros)
        d_loss.backward()
        self.d_optimizer.step()

        self.g_optimizer.zero_grad()
        fake = self.generator(noise(count, xp))
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), ones)
        g_loss.backward()
        self.g_optimizer.step()  # D's gradients from this step are dropped by its next zero_grad
        return {"d_loss": d_loss, "g_loss": g_loss}


class SampleGrids(cr.callbacks.Callback):
    """After each epoch: log the two losses and save a PNG grid of ``generator(fixed_noise)`` in ``out``.

    ``files`` maps "samples after epoch N" to the path of each grid written.
    """

    main_rank_only = True  # on several MPI ranks, rank 0 writes the grids

    def __init__(self, fixed_noise, out, log):
        super().__init__()
        self.fixed_noise, self.out, self.log = fixed_noise, Path(out), log
        self.files = {}

    def on_epoch_end(self, epoch, logs=None):
        from chainrule import plots

        number = epoch + 1
        logs = logs or {}
        d_loss, g_loss = logs["d_loss"], logs["g_loss"]
        self.log(f"epoch {number}: discriminator loss {d_loss:.4f}, generator loss {g_loss:.4f}")
        with no_grad():
            device = gpu.module_of(self.model)  # the fixed noise goes to the model, the samples come back
            noise_on_device = Tensor(gpu.move_array(self.fixed_noise._data, device))
            samples = gpu.move_array(self.model(noise_on_device)._data, numpy)
        self.files[f"samples after epoch {number}"] = plots.digit_grid(
            samples, self.out / f"gan_epoch_{number:03d}.png", title=f"GAN samples, epoch {number}")


def smoke_test():
    """The discriminator's loss on a fixed batch falls as it starts to learn (one D and G step each)."""
    cr.manual_seed(0)
    (x, _), _ = load_digits(limit=128)
    gan = GANModel(*build(), lr=1e-3)
    gan.compile()
    # one batch per epoch: epoch k reports the loss before its update, as the old per-batch loop did
    d_losses = gan.fit(x, batch_size=len(x), epochs=5, shuffle=False, verbose=0).history["d_loss"]
    return d_losses[0], d_losses[-1]


def train(options, log):
    cr.manual_seed(options.seed)
    (x_train, _), _ = load_digits(options.data, options.limit)
    log(f"data: {len(x_train)} training digits")
    gan = GANModel(*build(), lr=options.get("lr", 2e-4))
    gan.compile()
    grids = SampleGrids(noise(40), options.out, log)
    gan.fit(x_train, batch_size=options.get("batch_size", 64), epochs=options.get("epochs", 30), verbose=0,
            callbacks=[grids, *keras_run.watch(options)])
    return {"files": grids.files}


GAN = ZooModel(name="gan", summary="a small fully connected GAN on MNIST digits, a sample grid per epoch",
               build=build, smoke_test=smoke_test, train=train)
