"""The main job's code path (``chainrule train``): the lecture's MLP on the embedded digits reaches 90%."""

from chainrule import zoo


def test_main_job_reaches_ninety_percent_on_the_embedded_test_digits(tmp_path):
    lines = []
    options = zoo.TrainOptions(epochs=3, out=str(tmp_path), verbose=0)
    results = zoo.get("mlp").train(options, lines.append)
    assert results["test_accuracy"] >= 0.90
    assert f"test accuracy: {results['test_accuracy']:.4f}" in lines
    assert (tmp_path / "mlp.chainrule").is_file() and (tmp_path / "mlp_loss.png").is_file()
