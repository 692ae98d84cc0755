"""Where a study lives: ``"journal:PATH"`` (Optuna's journal file) or an RDB URL.

The journal file is Optuna's append-only log with a file lock, safe for many processes and for
nodes that share a file system; an RDB URL (``sqlite:///study.db``, ``postgresql://...``) is handed
to Optuna as it is. None keeps the study in this process's memory.
"""

from pathlib import Path

from chainrule.errors import ConfigError

JOURNAL = "journal:"


def open_storage(storage):
    """An Optuna storage (or the URL Optuna opens itself) for ``storage``; objects pass through."""
    if storage is None or not isinstance(storage, str):
        return storage
    if storage.startswith(JOURNAL):
        path = storage[len(JOURNAL):]
        if not path:
            raise ConfigError("search: storage 'journal:' needs a file path; hint: journal:study.log")
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(path))
    if "://" not in storage:
        raise ConfigError(f"search: storage {storage!r} is neither journal:PATH nor a database URL; "
                          "hint: journal:study.log, or sqlite:///study.db")
    return storage
