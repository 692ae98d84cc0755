"""Streaming metrics: exact over uneven batches, checked against NumPy on the whole data."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import metrics


def _uneven_batches(*arrays, sizes=(7, 1, 13, 5, 30, 4)):
    start = 0
    for size in sizes:
        yield tuple(a[start:start + size] for a in arrays)
        start += size


@pytest.fixture
def scores():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(60, 5)).astype("float32")
    labels = rng.integers(0, 5, size=60)
    return logits, labels


def test_accuracy_over_uneven_batches_equals_accuracy_over_all(scores):
    logits, labels = scores
    sparse, categorical = metrics.Accuracy("sparse"), metrics.Accuracy("categorical")
    onehot = np.eye(5, dtype="float32")[labels]
    for p, t, h in _uneven_batches(logits, labels, onehot):
        sparse.update_state(p, t)
        categorical.update_state(p, h)
    expected = np.mean(logits.argmax(1) == labels)
    assert sparse.result() == pytest.approx(expected)
    assert categorical.result() == pytest.approx(expected)
    # the mean of batch means would differ: the test can tell the two apart
    batch_means = [np.mean(p.argmax(1) == t) for p, t in _uneven_batches(logits, labels)]
    assert not np.isclose(np.mean(batch_means), expected)


def test_binary_accuracy_and_auto_kind():
    rng = np.random.default_rng(0)
    p = rng.random((50, 1)).astype("float32")
    t = (rng.random((50, 1)) > 0.5).astype("float32")
    auto = metrics.Accuracy()
    for pb, tb in _uneven_batches(p, t, sizes=(3, 20, 27)):
        auto.update_state(pb, tb)
    assert auto.kind == "binary"
    assert auto.result() == pytest.approx(np.mean((p > 0.5) == (t > 0.5)))


def test_top_k_accuracy(scores):
    logits, labels = scores
    metric = metrics.TopKAccuracy(k=2, sparse=True)
    for p, t in _uneven_batches(logits, labels):
        metric.update_state(p, t)
    top2 = np.argsort(-logits, axis=1)[:, :2]
    assert metric.result() == pytest.approx(np.mean([labels[i] in top2[i] for i in range(60)]))


def test_mse_and_mae_over_uneven_batches():
    rng = np.random.default_rng(1)
    p, t = rng.normal(size=(60, 3)), rng.normal(size=(60, 3))
    mse, mae = metrics.get("mse"), metrics.get("mae")
    for pb, tb in _uneven_batches(p, t):
        mse.update_state(pb, tb)
        mae.update_state(pb, tb)
    assert mse.result() == pytest.approx(np.mean((p - t) ** 2))
    assert mae.result() == pytest.approx(np.mean(np.abs(p - t)))


def test_precision_recall_and_confusion_matrix_against_numpy():
    rng = np.random.default_rng(2)
    p = rng.random(60)
    t = (rng.random(60) > 0.4).astype("float32")
    precision, recall = metrics.Precision(), metrics.Recall()
    for pb, tb in _uneven_batches(p, t):
        precision.update_state(pb, tb)
        recall.update_state(pb, tb)
    called, actual = p > 0.5, t > 0.5
    assert precision.result() == pytest.approx(np.sum(called & actual) / np.sum(called))
    assert recall.result() == pytest.approx(np.sum(called & actual) / np.sum(actual))

    logits = rng.normal(size=(60, 4))
    labels = rng.integers(0, 4, size=60)
    confusion = metrics.ConfusionMatrix(4)
    for pb, tb in _uneven_batches(logits, labels):
        confusion.update_state(pb, tb)
    expected = np.zeros((4, 4), dtype=int)
    for true, predicted in zip(labels, logits.argmax(1)):
        expected[true, predicted] += 1
    np.testing.assert_array_equal(confusion.result(), expected)
    with pytest.raises(cr.ShapeError, match="num_classes"):
        metrics.ConfusionMatrix(2).update_state(logits, labels)


def test_accuracy_kind_follows_the_loss():
    assert metrics.get("accuracy", "sparse_categorical_crossentropy").kind == "sparse"
    assert metrics.get("accuracy", "categorical_crossentropy").kind == "categorical"
    assert metrics.get("acc", "binary_crossentropy").kind == "binary"
    assert metrics.get("accuracy", None).kind is None


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(cr.ChainruleError, match="known metrics: .*accuracy"):
        metrics.get("acuracy")


def test_fit_logs_are_sample_weighted_over_an_uneven_last_batch(blobs, mlp_factory):
    x, y = blobs  # 120 samples, batch 50: batches of 50, 50, 20
    model = mlp_factory()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y, batch_size=50)
    probabilities = model.predict(x)
    expected_loss = -np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1)))
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(1) == y))


def test_binary_accuracy_on_logits_decides_at_zero():
    logits = np.array([[-2.0], [-0.2], [0.3], [4.0]], dtype="float32")
    targets = np.array([[0], [0], [1], [1]], dtype="float32")
    on_logits = metrics.get("accuracy", "binary_cross_entropy_with_logits")
    on_logits.update_state(logits, targets)
    assert on_logits.result() == 1.0
    on_probabilities = metrics.get("accuracy", "binary_crossentropy")
    on_probabilities.update_state(logits, targets)
    assert on_probabilities.result() == 0.75
