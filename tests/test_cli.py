"""The ``chainrule`` command, through a real process where it matters and through ``main`` elsewhere.

Each subprocess costs an interpreter start and ``import chainrule``, so only the commands a user
types most (explain, train, evaluate, predict, summary, an error) run as processes; the other zoo
models train through ``cli.main``, the same code minus the process.
"""

import subprocess
import sys

import pytest

from chainrule import cli


def run(*args, cwd=None):
    result = subprocess.run([sys.executable, "-m", "chainrule.cli", *args], capture_output=True, text=True,
                            cwd=cwd, timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_explain_backprop_prints_the_lecture_numbers():
    code, out, err = run("explain", "backprop")
    assert code == 0, err
    for number in ["0.298371109", "0.593269992", "0.082167041", "0.35891648", "0.511301270",
                   "0.149780716", "Error after the update"]:
        assert number in out


def test_explain_xor_and_tlu():
    code, out, err = run("explain", "xor")
    assert code == 0, err
    assert "hidden outputs 0.90 and 0.17, output 0.76" in out and "δ_o1" in out
    code, out, err = run("explain", "tlu")
    assert code == 0, err
    assert "x1 AND x2" in out and "x2 → x1" in out and "threshold θ = 4" in out


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlp")
    code, stdout, stderr = run("train", "--epochs", "1", "--limit", "300", "--out", str(out), "--quiet")
    assert code == 0, stderr
    return out, stdout


def test_train_writes_the_model_file_the_loss_curve_and_a_closing_accuracy(trained_mlp):
    out, stdout = trained_mlp
    assert (out / "mlp.chainrule").is_file() and (out / "mlp_loss.png").is_file()
    closing = [line for line in stdout.splitlines() if line.startswith("test accuracy: ")]
    assert closing and 0.0 <= float(closing[0].split(": ")[1]) <= 1.0


def test_evaluate_predict_and_summary_of_a_saved_model(trained_mlp, tmp_path):
    out, _ = trained_mlp
    model = str(out / "mlp.chainrule")
    code, stdout, stderr = run("evaluate", model, "--limit", "100")
    assert code == 0, stderr
    assert "test digits: 100" in stdout and "test accuracy: " in stdout

    from matplotlib import image as mpimg

    from chainrule.zoo.mnist_data import load_digits

    _, (x_test, _) = load_digits(limit=100)
    png = tmp_path / "digit.png"
    mpimg.imsave(png, x_test[0].reshape(28, 28), cmap="gray", vmin=0.0, vmax=1.0)
    code, stdout, stderr = run("predict", model, str(png))
    assert code == 0, stderr
    digit = int(stdout.split("predicted digit: ")[1].split()[0])
    assert 0 <= digit <= 9

    code, stdout, stderr = run("summary", model)
    assert code == 0, stderr
    assert "Total params: 669,706" in stdout


@pytest.mark.parametrize("args, message", [
    (["train", "nosuchmodel"], "unknown zoo model"),
    (["evaluate", "missing.chainrule"], "no model file"),
    (["explain", "lenet5"], "invalid choice"),
    (["train", "--lr", "inf"], "--lr: expected a positive finite number, got 'inf'"),
])
def test_user_mistakes_give_one_line_and_a_nonzero_status(args, message, tmp_path):
    code, stdout, stderr = run(*args, cwd=tmp_path)
    assert code != 0
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and message in stderr


def test_a_corrupted_model_file_is_one_line_too(tmp_path, capsys):
    broken = tmp_path / "broken.chainrule"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    assert cli.main(["evaluate", str(broken)]) != 0
    assert cli.main(["predict", str(broken), str(tmp_path / "no.png")]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err


@pytest.mark.parametrize("name, extra", [
    ("tlu", []), ("perceptron", []), ("xor", []), ("backprop", []), ("mlp_torch", ["--limit", "200"]),
    ("autoencoder", ["--limit", "200"]), ("deep_autoencoder", ["--limit", "200"]),
    ("lenet5", ["--limit", "200"]),
    ("char_rnn", ["--limit", "3000"]), ("gan", ["--limit", "200"]),
])
def test_train_each_zoo_model_for_one_epoch(name, extra, tmp_path, capsys):
    assert cli.main(["train", name, "--epochs", "1", "--out", str(tmp_path), "--quiet", *extra]) == 0
    stdout = capsys.readouterr().out
    assert f"training {name}" in stdout
    if name in ("mlp_torch", "autoencoder", "deep_autoencoder", "lenet5", "char_rnn"):
        assert (tmp_path / f"{name}.chainrule").is_file()
    if name in ("autoencoder", "deep_autoencoder"):
        assert (tmp_path / f"{name}_reconstructions.png").is_file()
        assert (tmp_path / f"{name}_weights.png").is_file()
    if name == "gan":
        assert (tmp_path / "gan_epoch_001.png").is_file()
    if name == "char_rnn":
        model_file = str(tmp_path / "char_rnn.chainrule")
        assert cli.main(["generate", model_file, "--length", "50", "--seed", "0"]) == 0
        generated = capsys.readouterr().out.rstrip("\n")
        corpus = __import__("chainrule").data.text.load(max_chars=3000)
        assert len(generated) == 50 and set(generated) <= set(corpus)


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "evaluate", "predict", "summary", "explain", "generate"):
        assert command in out


def test_a_data_directory_without_idx_files_is_an_error_not_a_silent_fallback(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for data in (str(tmp_path / "mistyped"), str(empty)):
        assert cli.main(["train", "mlp", "--epochs", "1", "--limit", "50", "--data", data,
                         "--out", str(tmp_path / "out"), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "MNIST IDX files" in err and data in err
    assert not (tmp_path / "out" / "mlp.chainrule").exists()


def test_a_data_directory_of_idx_files_is_used(tmp_path, capsys):
    import numpy

    from chainrule.data import idx

    rng = numpy.random.default_rng(0)
    for prefix, count in (("train", 60), ("t10k", 20)):
        idx.write(tmp_path / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, size=(count, 28, 28), dtype=numpy.uint8))
        idx.write(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", numpy.arange(count, dtype=numpy.uint8) % 10)
    assert cli.main(["train", "mlp", "--epochs", "1", "--data", str(tmp_path), "--out", str(tmp_path),
                     "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "data: 60 training and 20 test digits" in out and (tmp_path / "mlp.chainrule").is_file()
