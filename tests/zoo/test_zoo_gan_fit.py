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


def test_gan_checkpoints_with_both_optimisers_and_resumes_exactly(tmp_path):
    objects = {"GANModel": gan.GANModel}
    real = numpy.random.default_rng(1).uniform(0.0, 1.0, size=(16, 784)).astype(numpy.float32)

    def run(epochs, **fit_args):
        model = gan.GANModel()
        model.compile()
        model.fit(real, batch_size=8, epochs=epochs, verbose=0, **fit_args)
        return model

    cr.manual_seed(0)
    full = run(2)
    cr.manual_seed(0)
    path = tmp_path / "gan.chainrule"
    run(1, callbacks=[cr.callbacks.ModelCheckpoint(path, custom_objects=objects)])
    resumed = run(2, resume_from=path)
    for key, value in full.state_dict().items():
        numpy.testing.assert_array_equal(numpy.asarray(resumed.state_dict()[key]), numpy.asarray(value),
                                         err_msg=key)
    loaded = cr.load_model(path, custom_objects=objects)
    assert isinstance(loaded, gan.GANModel) and loaded.predict(gan.noise(2).data).shape == (2, 784)
