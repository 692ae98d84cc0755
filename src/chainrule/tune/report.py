"""What a finished study looks like to a person: a table of trials, a CSV, two plots.

The plots are Optuna's own (``optuna.visualization.matplotlib``): the optimisation history (each
trial's value and the best so far) and the parameter importances (fANOVA, which needs at least two
finished trials whose parameters differ).
"""

import csv
import io
import math
import warnings
from pathlib import Path

from chainrule.atomic import atomic_write_bytes


def _finished(study):
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def _parameter_names(trials):
    names = []
    for trial in trials:
        names.extend(name for name in trial.params if name not in names)
    return names


def _format(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def rows(study):
    """One dict per trial: number, state, value, epochs run, then each parameter."""
    trials = study.trials
    names = _parameter_names(trials)
    return [{"trial": t.number, "state": t.state.name.lower(), "value": t.value,
             "epochs": t.user_attrs.get("epochs"), **{n: t.params.get(n) for n in names}} for t in trials]


def table_lines(study, monitor):
    """The trials as an aligned text table, then the best trial ("best trial 3: val_loss 0.1 ...")."""
    table = rows(study)
    if not table:
        return ["no trials"]
    columns = list(table[0])
    cells = [[("trial" if c == "trial" else monitor if c == "value" else c) for c in columns]]
    cells += [[_format(row[c]) for c in columns] for row in table]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells]
    completed = [t for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
    if completed:
        best = study.best_trial
        settings = ", ".join(f"{k}={_format(v)}" for k, v in best.params.items())
        lines.append(f"best trial {best.number}: {monitor} {best.value:.4g} ({settings})")
    else:
        lines.append("best: none (no trial completed)")
    return lines


def write_csv(study, path):
    """One row per trial (the columns of :func:`rows`), written atomically; returns the path."""
    table = rows(study)
    text = io.StringIO()
    if table:
        writer = csv.DictWriter(text, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in table)
    atomic_write_bytes(path, text.getvalue().encode())
    return Path(path)


def write_plots(study, out, stem, log, monitor="val_loss"):
    """``<stem>_history.png`` and ``<stem>_importances.png`` in ``out``; returns {label: path}.

    A plot that cannot be drawn (too few finished trials, no matplotlib) is left out with a note.
    """
    files = {}
    for label, name, needed in (("optimisation history", "history", 1), ("parameter importances",
                                                                         "importances", 2)):
        path = Path(out) / f"{stem}_{name}.png"
        if sum(1 for t in _finished(study) if t.value is not None and math.isfinite(t.value)) < needed:
            log(f"(no {label} plot: it needs {needed} finished trial{'s' * (needed > 1)})")
            continue
        try:
            _plot(study, name, path, monitor)
        except (ImportError, ValueError, RuntimeError) as error:
            log(f"(no {label} plot: {error})")
            continue
        files[label] = path
    return files


def _plot(study, name, path, monitor):
    import matplotlib.pyplot as pyplot  # Optuna's plots draw through pyplot
    import optuna.visualization.matplotlib as plots

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        draw = plots.plot_optimization_history if name == "history" else plots.plot_param_importances
        axes = draw(study, target_name=monitor)
    figure = axes.figure
    figure.set_size_inches(8, 5)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    pyplot.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
