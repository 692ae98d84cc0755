"""``chainrule search NAME``: tune a zoo model's hyperparameters over its documented space.

The space of each model is in :mod:`chainrule.tune.zoo_spaces`. Trials are scored on the monitored
value (val_loss) of a tenth of the training samples held out once; the trials' table and the best
trial are printed, and a CSV and Optuna's plots of the optimisation history and the parameter
importances go to ``--out``. ``--trials 0`` creates the study in ``--storage`` and runs nothing:
do that once before starting workers that share it.
"""

import os
from pathlib import Path


def run(args, say):
    """Run the search the parsed command line asks for; ``say`` receives one line at a time."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # Optuna draws through pyplot; no window wanted
    import optuna

    from chainrule.tune import report, zoo_spaces
    from chainrule.tune.search import create_study, search

    space = zoo_spaces.get(args.name)  # an unknown name fails before anything loads
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the table below says what happened
    if args.trials == 0:
        create_study(args.storage, args.study, "minimize")
        say(f"study {args.study or '(unnamed)'} ready in {args.storage or 'memory'}")
        return 0
    (x, y), context = space.data(args.data, args.limit)
    say(f"searching {args.name}: {args.trials} trials, {args.sampler} sampler, {args.epochs} epochs each, "
        f"{len(x)} training samples (a tenth held out for val_loss)")
    study = search(space.builder(context), x, y, n_trials=args.trials, sampler=args.sampler,
                   search_space=space.grid() if args.sampler == "grid" else None, storage=args.storage,
                   study_name=args.study, seed=args.seed, epochs=args.epochs, validation_split=0.1)
    for line in report.table_lines(study, "val_loss"):
        say(line)
    out = Path(args.out)
    stem = f"search_{args.name}"
    files = {"trials": report.write_csv(study, out / f"{stem}.csv")}
    files.update(report.write_plots(study, out, stem, say))
    for label, path in files.items():
        say(f"{label}: {path}")
    return 0
