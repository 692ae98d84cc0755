"""The GAN is a Model whose own train_step fit runs: both losses per epoch, a sample grid per epoch."""

import numpy

import chainrule as cr
from chainrule.zoo import gan


def test_gan_trains_through_fit_with_both_losses_and_a_grid_per_epoch(tmp_path):
    cr.manual_seed(0)
    real = cr.random.generator().uniform(0.0, 1.0, size=(20, 784)).astype(numpy.float32)
    model = gan.GANModel(*gan.build())
    model.compile()
    lines = []
    grids = gan.SampleGrids(gan.noise(4), tmp_path, lines.append)
    d_before = [p.data.copy() for p in model.discriminator.parameters()]
    history = model.fit(real, batch_size=8, epochs=2, verbose=0, callbacks=[grids])

    assert set(history.history) == {"d_loss", "g_loss"}
    assert all(numpy.isfinite(history.history[name]).all() for name in ("d_loss", "g_loss"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gan_epoch_001.png", "gan_epoch_002.png"]
    assert lines[1].startswith("epoch 2: discriminator loss ") and len(lines) == 2
    assert any(not numpy.array_equal(p.data, q) for p, q in zip(model.discriminator.parameters(), d_before,
                                                                  strict=True))
    assert model(gan.noise(3)).shape == (3, 784)  # calling the GAN generates images
