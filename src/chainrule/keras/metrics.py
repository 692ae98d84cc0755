"""``keras.metrics``: the engine's streaming metrics under Keras's names; strings work in compile."""

from chainrule.train.metrics import (
    Accuracy,
    Mean,
    Metric,
    Precision,
    Recall,
    TopKAccuracy,
    binary_accuracy,
    categorical_accuracy,
    get,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)

__all__ = ["Accuracy", "Mean", "Metric", "Precision", "Recall", "TopKAccuracy", "binary_accuracy",
           "categorical_accuracy", "get", "mean_absolute_error", "mean_squared_error",
           "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"]
