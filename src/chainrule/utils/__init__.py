"""PyTorch's ``torch.utils``: ``chainrule.utils.data`` (Dataset, DataLoader, TensorDataset, random_split)."""

from chainrule.utils import data  # noqa: F401
