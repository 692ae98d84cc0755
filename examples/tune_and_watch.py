"""Tune an MNIST MLP with Optuna, then watch the best one train in TensorBoard.

    python examples/tune_and_watch.py           # 20 TPE trials of 5 epochs, then 20 epochs
    python examples/tune_and_watch.py --quick   # 3 trials of 1 epoch on 500 digits (what the tests run)
    tensorboard --logdir logs                   # then open http://localhost:6006

Needs the `search` and `tensorboard` extras: pip install "chainrule[course,search,tensorboard]".
"""

import os
import sys

import optuna

import chainrule as cr
from chainrule.data import mnist

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
optuna.logging.set_verbosity(optuna.logging.WARNING)

(x_train, y_train), (x_test, y_test) = mnist.load()
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:500], y_train[:500], x_test[:100], y_test[:100]
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255


def build(trial):
    """The lecture's MLP, with its width, dropout and learning rate left to the trial."""
    units = trial.suggest_categorical("units", [128, 256, 512])
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
    model = cr.Sequential([
        cr.nn.Dense(units, activation="relu", input_shape=(784,)), cr.nn.Dropout(dropout),
        cr.nn.Dense(units, activation="relu"), cr.nn.Dropout(dropout),
        cr.nn.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=cr.optim.RMSprop(lr=lr, alpha=0.9),
                  metrics=["accuracy"])
    return model


# TPE proposes each trial's values from the earlier ones; the median pruner stops a trial whose
# val_loss is worse than the median of earlier trials at the same epoch
study = cr.tune.search(build, x_train, y_train, n_trials=3 if QUICK else 20, sampler="tpe", seed=0,
                       epochs=1 if QUICK else 5, batch_size=128, validation_split=0.1)
for trial in study.trials:
    print(f"trial {trial.number}: {trial.state.name.lower():8} val_loss {trial.value:.4f}  {trial.params}")
print(f"best trial {study.best_trial.number}: val_loss {study.best_value:.4f} with {study.best_params}")

# train the best settings longer, logging everything TensorBoard shows: curves (train and validation
# overlaid), learning rate, weight and gradient histograms, the hyperparameters
best = study.best_trial
cr.manual_seed(best.user_attrs["seed"])
model = build(optuna.trial.FixedTrial(best.params))
board = cr.callbacks.TensorBoard("logs", histogram_freq=1, hparams=best.params)
model.fit(x_train, y_train, epochs=1 if QUICK else 20, batch_size=128, validation_split=0.1,
          callbacks=[board])
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy: {accuracy:.4f}")
print("TensorBoard logs: logs (view: tensorboard --logdir logs)")
