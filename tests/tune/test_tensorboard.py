"""The TensorBoard callback, read back with TensorBoard's own reader (EventAccumulator)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
plugin_data_pb2 = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")


def read(run_dir):
    accumulator = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.IMAGES: 0, event_accumulator.HISTOGRAMS: 0})
    accumulator.Reload()
    return accumulator


def autoencoder():
    model = cr.Sequential([cr.nn.Dense(4, activation="relu", input_shape=(16,)),
                           cr.nn.Dense(16, activation="sigmoid")])
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    return model


@pytest.fixture
def images():
    return np.random.default_rng(0).random((48, 16)).astype("float32")  # 4x4 "pictures"


def test_every_history_key_per_epoch_in_a_train_and_a_validation_run(tmp_path, images):
    model = autoencoder()
    history = model.fit(images, images, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[cr.callbacks.TensorBoard(tmp_path)])
    train, validation = read(tmp_path / "train"), read(tmp_path / "validation")
    for key, values in history.history.items():
        run, tag = (validation, key[4:]) if key.startswith("val_") else (train, key)
        events = run.Scalars("epoch_" + tag)
        assert [e.step for e in events] == [0, 1, 2]
        np.testing.assert_allclose([e.value for e in events], values, rtol=1e-6)
    assert [e.value for e in train.Scalars("epoch_learning_rate")] == pytest.approx([1e-3] * 3)
    assert "epoch_learning_rate" not in validation.Tags()["scalars"]


def test_histograms_images_and_reconstructions(tmp_path, images):
    model = autoencoder()
    callback = cr.callbacks.TensorBoard(tmp_path, histogram_freq=2, write_images=True,
                                        sample_inputs=images[:3])
    model.fit(images, images, epochs=3, verbose=0, callbacks=[callback])
    train = read(tmp_path / "train")
    names = [name for name, _ in model.named_parameters()]
    for name in names:
        weights = train.Histograms(f"{name}/histogram")
        assert [e.step for e in weights] == [0, 2]  # every histogram_freq epochs
        assert weights[-1].histogram_value.num == model.state_dict()[name].size
        assert [e.step for e in train.Histograms(f"{name}/gradient")] == [0, 2]
    assert {f"{names[0]}/image", "samples/input", "samples/output"} <= set(train.Tags()["images"])
    outputs = train.Images("samples/output")
    assert [e.step for e in outputs] == [0, 2]
    assert (outputs[0].width, outputs[0].height) == (3 * 4, 4)  # the 3 samples side by side


def test_batch_logs_every_update_freq_batches(tmp_path, images):
    model = autoencoder()
    model.fit(images, images, epochs=2, batch_size=8, verbose=0,  # 6 batches an epoch
              callbacks=[cr.callbacks.TensorBoard(tmp_path, update_freq=4)])
    steps = [e.step for e in read(tmp_path / "train").Scalars("batch_loss")]
    assert steps == [4, 8, 12]


def test_epoch_logging_adds_no_batch_hook():
    lists = cr.callbacks.CallbackList([cr.callbacks.TensorBoard("unused")], model=None, params={})
    assert lists.train_batch == []  # fit computes no per-batch logs for it
    per_batch = cr.callbacks.TensorBoard("unused", update_freq="batch")  # Keras's name for 1
    assert per_batch.update_freq == 1
    assert cr.callbacks.CallbackList([per_batch], model=None, params={}).train_batch == [per_batch]


def test_hyperparameters_in_the_log_directory_itself_without_a_timestamped_run(tmp_path, images):
    model = autoencoder()
    model.fit(images, images, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
              callbacks=[cr.callbacks.TensorBoard(tmp_path, hparams={"units": 4, "activation": "relu"})])
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["train", "validation"]
    content = read(tmp_path).PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = {k: v.string_value or v.number_value for k, v in start.session_start_info.hparams.items()}
    assert values == {"units": 4, "activation": "relu", "optimizer": "Adam",
                      "learning_rate": pytest.approx(1e-3), "batch_size": 16, "epochs": 2}
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    assert metrics == {("train", "epoch_loss"), ("train", "epoch_mae"),
                       ("validation", "epoch_loss"), ("validation", "epoch_mae")}


def test_two_runs_never_share_an_event_file(tmp_path, images):
    callback = cr.callbacks.TensorBoard(tmp_path)
    for _ in range(2):  # within the same second: tensorboardX alone would name both files alike
        autoencoder().fit(images, images, epochs=1, verbose=0, callbacks=[callback])
    files = list((tmp_path / "train").glob("events.out.tfevents.*"))
    assert len(files) == 2
    assert [e.step for e in read(tmp_path / "train").Scalars("epoch_loss")] == [0, 0]


def test_only_rank_zero_writes(tmp_path, images, monkeypatch):
    monkeypatch.delitem(sys.modules, "mpi4py.MPI", raising=False)  # the launcher's variable decides
    monkeypatch.setenv("PMI_RANK", "1")
    autoencoder().fit(images, images, epochs=1, verbose=0, callbacks=[cr.callbacks.TensorBoard(tmp_path)])
    assert not tmp_path.exists() or not any(Path(tmp_path).rglob("events.out.tfevents.*"))
    monkeypatch.setenv("PMI_RANK", "0")
    autoencoder().fit(images, images, epochs=1, verbose=0, callbacks=[cr.callbacks.TensorBoard(tmp_path)])
    assert any(Path(tmp_path).rglob("events.out.tfevents.*"))


def test_bad_settings_are_refused():
    with pytest.raises(cr.errors.ConfigError, match="update_freq"):
        cr.callbacks.TensorBoard("logs", update_freq="step")
    with pytest.raises(cr.errors.ConfigError, match="histogram_freq"):
        cr.callbacks.TensorBoard("logs", histogram_freq=-1)


def test_images_are_found_only_in_image_shaped_batches():
    from chainrule.train.tensorboard import as_images

    assert as_images(np.zeros((2, 784))).shape == (2, 1, 28, 28)
    assert as_images(np.zeros((2, 3, 8, 8))).shape == (2, 3, 8, 8)
    assert as_images(np.zeros((2, 10))) is None  # class scores are no picture
    stretched = as_images(np.array([[[-2.0, 2.0], [0.0, 0.0]]]))
    assert stretched.min() == 0 and stretched.max() == 1


def test_the_learning_rate_a_schedule_sets_each_epoch(tmp_path, images):
    model = autoencoder()
    schedule = cr.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    model.fit(images, images, epochs=3, verbose=0, callbacks=[schedule, cr.callbacks.TensorBoard(tmp_path)])
    rates = [e.value for e in read(tmp_path / "train").Scalars("epoch_learning_rate")]
    assert rates == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert "epoch_lr" not in read(tmp_path / "train").Tags()["scalars"]  # "lr" is that same rate
    content = read(tmp_path).PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["learning_rate"].number_value == pytest.approx(0.1)  # the first epoch's


class _Scorer(cr.Model):
    """A model whose own train_step brings no optimiser: it only returns a named value."""

    def __init__(self):
        super().__init__()
        self.layer = cr.nn.Dense(2, input_shape=(16,))

    def forward(self, x):
        return self.layer(x)

    def train_step(self, x, y):
        return {"score": float(np.mean(x))}


def test_a_custom_step_without_an_optimiser_logs_its_values_and_no_rate(tmp_path, images):
    model = _Scorer()
    model.compile()
    model.fit(images, epochs=2, verbose=0, callbacks=[cr.callbacks.TensorBoard(tmp_path, histogram_freq=1)])
    train = read(tmp_path / "train")
    assert [e.value for e in train.Scalars("epoch_score")] == pytest.approx([float(np.mean(images))] * 2)
    assert "epoch_learning_rate" not in train.Tags()["scalars"]
    assert "layer.weight/histogram" in train.Tags()["histograms"]
    assert "layer.weight/gradient" not in train.Tags()["histograms"]  # no backward pass, no gradient


def test_the_graph_comes_from_the_onnx_export(tmp_path, images):
    pytest.importorskip("onnx")
    model = autoencoder()
    model.fit(images, images, epochs=2, verbose=0, callbacks=[cr.callbacks.TensorBoard(tmp_path)])
    train = read(tmp_path / "train")
    assert train.Tags()["graph"]
    operators = [node.op for node in train.Graph().node]
    assert operators.count("MatMul") == 2 and "Relu" in operators and "Sigmoid" in operators
    without = tmp_path / "without"
    autoencoder().fit(images, images, epochs=1, verbose=0,
                      callbacks=[cr.callbacks.TensorBoard(without, write_graph=False)])
    assert not read(without / "train").Tags()["graph"]
