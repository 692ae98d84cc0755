"""``cr.callbacks``: the callbacks that ``fit`` accepts, with Keras's names and hooks."""

from chainrule.train.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    History,
    LearningRateScheduler,
    TerminateOnNaN,
)
from chainrule.train.monitor import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from chainrule.train.progress import EpochLines, TqdmBar
from chainrule.train.pruning import OptunaPruning
from chainrule.train.tensorboard import TensorBoard

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "EpochLines", "History",
           "LearningRateScheduler", "ModelCheckpoint", "OptunaPruning", "ReduceLROnPlateau", "TensorBoard",
           "TerminateOnNaN", "TqdmBar"]
