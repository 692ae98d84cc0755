"""``cr.metrics``: the streaming metrics that ``compile(metrics=[...])`` accepts."""

from chainrule.train.metrics import (
    Accuracy,
    ConfusionMatrix,
    Mean,
    MeanMetricWrapper,
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

__all__ = ["Accuracy", "ConfusionMatrix", "Mean", "MeanMetricWrapper", "Metric", "Precision", "Recall",
           "TopKAccuracy", "binary_accuracy", "categorical_accuracy", "get", "mean_absolute_error",
           "mean_squared_error", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "top_k_categorical_accuracy"]
