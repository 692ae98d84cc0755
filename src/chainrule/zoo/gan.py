"""A small fully connected GAN on MNIST digits.

A generator G turns noise z ~ N(0, I) (64 numbers) into a 28x28 image; a discriminator D scores an
image as real (1) or generated (0). They train in turns, each with binary cross-entropy on D's logit:

    D step:  minimise  BCE(D(x), 1) + BCE(D(G(z)), 0)      (tell real from fake)
    G step:  minimise  BCE(D(G(z)), 1)                      (fool D; the "non-saturating" loss)

The two players need two optimisers and alternate inside each batch, which ``Model.fit`` (one model,
one loss) does not do, so the loop is written out here, PyTorch-style. Each epoch draws a grid of
samples from the same fixed noise, so the pictures show the generator learning.
"""

from pathlib import Path

import numpy

import chainrule as cr
from chainrule import nn
from chainrule.autograd.mode import no_grad
from chainrule.autograd.tensor import Tensor
from chainrule.nn import functional as F
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


def noise(count):
    return Tensor(cr.random.generator().standard_normal((count, LATENT_SIZE)).astype(numpy.float32))


class GANTrainer:
    """One generator, one discriminator, an Adam optimiser each (lr 2e-4, β₁ = 0.5, as DCGAN uses)."""

    def __init__(self, generator, discriminator, lr=2e-4):
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer = cr.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.d_optimizer = cr.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))

    def train_batch(self, real):
        """One discriminator step and one generator step; returns (d_loss, g_loss)."""
        count = len(real)
        ones = Tensor(numpy.ones((count, 1), dtype=numpy.float32))
        zeros = Tensor(numpy.zeros((count, 1), dtype=numpy.float32))
        with no_grad():
            fake = self.generator(noise(count))
        self.d_optimizer.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(self.discriminator(Tensor(real)), ones) + \
            F.binary_cross_entropy_with_logits(self.discriminator(fake), zeros)
        d_loss.backward()
        self.d_optimizer.step()

        self.g_optimizer.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(self.generator(noise(count))), ones)
        g_loss.backward()
        self.g_optimizer.step()  # D's gradients from this step are dropped by its next zero_grad
        return float(d_loss.item()), float(g_loss.item())

    def train_epoch(self, x, batch_size):
        """One pass over x in shuffled minibatches; returns the mean (d_loss, g_loss)."""
        order = cr.random.generator().permutation(len(x))
        losses = [self.train_batch(x[order[i:i + batch_size]]) for i in range(0, len(x), batch_size)]
        return tuple(numpy.mean(losses, axis=0))


def smoke_test():
    """The discriminator's loss on a fixed batch falls as it starts to learn (one D and G step each)."""
    cr.manual_seed(0)
    (x, _), _ = load_digits(limit=128)
    trainer = GANTrainer(*build(), lr=1e-3)
    first = trainer.train_batch(x)[0]
    for _ in range(4):
        last = trainer.train_batch(x)[0]
    return first, last


def train(options, log):
    from chainrule import plots

    cr.manual_seed(options.seed)
    (x_train, _), _ = load_digits(options.data, options.limit)
    log(f"data: {len(x_train)} training digits")
    generator, discriminator = build()
    trainer = GANTrainer(generator, discriminator, lr=options.get("lr", 2e-4))
    fixed_noise = noise(40)
    out = Path(options.out)
    files = {}
    for epoch in range(1, options.get("epochs", 30) + 1):
        d_loss, g_loss = trainer.train_epoch(x_train, options.get("batch_size", 64))
        log(f"epoch {epoch}: discriminator loss {d_loss:.4f}, generator loss {g_loss:.4f}")
        with no_grad():
            samples = generator(fixed_noise).numpy()
        files[f"samples after epoch {epoch}"] = plots.digit_grid(samples, out / f"gan_epoch_{epoch:03d}.png",
                                                                 title=f"GAN samples, epoch {epoch}")
    return {"files": files}


GAN = ZooModel(name="gan", summary="a small fully connected GAN on MNIST digits, a sample grid per epoch",
               build=build, smoke_test=smoke_test, train=train)
