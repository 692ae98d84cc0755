"""``cr.tune``: hyperparameter search on Optuna (the ``search`` extra): grid, random and TPE.

Importing this package costs nothing; Optuna is imported when a search starts.
"""

from chainrule.tune.search import create_study, search, seed_for_trial

__all__ = ["create_study", "search", "seed_for_trial"]
