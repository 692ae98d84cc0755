"""A custom train_step that brings its own optimisers (a GAN's two): callbacks and checkpoints see them."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError

X = np.random.default_rng(0).normal(size=(24, 3)).astype("float32")


class TwoPlayers(cr.Model):
    """Two linear 'players', each trained by its own Adam kept as an attribute (compiled with nothing)."""

    def __init__(self, lr_a=0.01, lr_b=0.02):
        super().__init__()
        self.a = cr.nn.Linear(3, 1)
        self.b = cr.nn.Linear(3, 1)
        self.opt_a = cr.optim.Adam(self.a.parameters(), lr=lr_a)
        self.opt_b = cr.optim.Adam(self.b.parameters(), lr=lr_b)

    def get_config(self):
        return {}

    def forward(self, x):
        return self.a(x) + self.b(x)

    def train_step(self, x, y=None):
        x = cr.tensor(np.asarray(x))
        noise = cr.tensor(cr.random.generator().normal(size=(len(x), 1)).astype("float32"))
        for player, optimizer in ((self.a, self.opt_a), (self.b, self.opt_b)):
            optimizer.zero_grad()
            loss = ((player(x) - noise) ** 2).mean()
            loss.backward()
            optimizer.step()
        return {"loss_a": float(((self.a(x) - 1.0) ** 2).mean().data)}


def _weights(model):
    return {k: np.array(v) for k, v in model.state_dict().items()}


def test_learning_rate_callbacks_adjust_every_optimiser_the_model_holds():
    model = TwoPlayers()
    model.compile()
    assert model.optimizer is None
    history = model.fit(X, epochs=2, batch_size=8, verbose=0,
                        callbacks=[cr.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    assert model.opt_a.param_groups[0]["lr"] == pytest.approx(0.01 * 0.25)
    assert model.opt_b.param_groups[0]["lr"] == pytest.approx(0.02 * 0.25)  # each from its own rate
    assert history.history["lr"] == pytest.approx([0.005, 0.0025])

    model = TwoPlayers()
    model.compile()
    plateau = cr.callbacks.ReduceLROnPlateau(monitor="loss_a", mode="max", patience=1, factor=0.5,
                                             min_delta=1e9)  # never "improves": cut every epoch
    model.fit(X, epochs=2, batch_size=8, verbose=0, callbacks=[plateau])
    assert model.opt_a.param_groups[0]["lr"] < 0.01 and model.opt_b.param_groups[0]["lr"] < 0.02


def test_a_learning_rate_callback_without_any_optimiser_says_so():
    class NoOptimiser(TwoPlayers):
        def __init__(self):
            super().__init__()
            del self.opt_a, self.opt_b

        def train_step(self, x, y=None):
            return {"zero": 0.0}

    model = NoOptimiser()
    model.compile()
    for callback in (cr.callbacks.LearningRateScheduler(lambda epoch: 0.1),
                     cr.callbacks.ReduceLROnPlateau(monitor="zero", patience=1)):
        with pytest.raises(ChainruleError, match="no optimiser"):
            model.fit(X, epochs=1, batch_size=8, verbose=0, callbacks=[callback])


def test_a_custom_step_model_checkpoints_and_resumes_exactly(tmp_path):
    objects = {"TwoPlayers": TwoPlayers}
    cr.manual_seed(3)
    full = TwoPlayers()
    full.compile()
    full.fit(X, epochs=4, batch_size=8, verbose=0)

    cr.manual_seed(3)
    first = TwoPlayers()
    first.compile()
    path = tmp_path / "two.chainrule"
    first.fit(X, epochs=2, batch_size=8, verbose=0,
              callbacks=[cr.callbacks.ModelCheckpoint(path, custom_objects=objects)])

    cr.manual_seed(99)  # the checkpoint's random streams must win over whatever state is current
    resumed = TwoPlayers()
    resumed.compile()
    history = resumed.fit(X, epochs=4, batch_size=8, verbose=0, resume_from=path)
    assert history.epoch == [0, 1, 2, 3]
    assert resumed.opt_a.state_dict()["state"]  # Adam's moments came back, not fresh ones
    for key, value in _weights(full).items():
        np.testing.assert_array_equal(_weights(resumed)[key], value, err_msg=key)
    assert isinstance(cr.load_model(path, custom_objects=objects), TwoPlayers)
