"""Every script in examples/ runs to the end in its short mode (CHAINRULE_EXAMPLE_QUICK=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> (a line it must print, files it must write)
EXPECTED = {
    "autograd_tanh.py": ("final loss:", ["autograd_tanh_loss.png"]),
    "mnist_mlp_keras.py": ("test accuracy:", ["mlp.chainrule"]),
    "mnist_convnet_keras.py": ("Total params: 34,826", ["convnet.keras"]),
    "mnist_mlp_pytorch.py": ("test: average loss", []),
    "mnist_pytorch_lecture.py": ("Test set: Average loss:", []),
    "autoencoder.py": ("Total params: 50,992", ["autoencoder_digits.png", "autoencoder_weights.png"]),
    "lenet5.py": ("Total params: 61,706", []),
    "char_rnn.py": ("--- temperature 0.8 ---", []),
    "explain_lenet5.py": ("pictures in", ["explain_saliency.png", "explain_filters.png",
                                          "explain_maximize.png", "explain_top_activations.png",
                                          "explain_feature_maps.png"]),
    "tune_and_watch.py": ("best trial", []),
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


# script -> the optional packages it needs (skipped without them)
NEEDS = {"tune_and_watch.py": ("optuna", "tensorboardX")}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_in_quick_mode(script, tmp_path):
    for package in NEEDS.get(script, ()):
        pytest.importorskip(package)
    # CHAINRULE_OFFLINE: keras.datasets.mnist.load_data() must not download in a test
    environment = {**os.environ, "CHAINRULE_EXAMPLE_QUICK": "1", "MPLBACKEND": "Agg",
                   "CHAINRULE_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line, files = EXPECTED[script]
    assert line in result.stdout
    for name in files:
        assert (tmp_path / name).is_file(), name
