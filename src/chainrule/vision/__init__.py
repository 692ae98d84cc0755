"""torchvision's shape over our data: ``from chainrule.vision import datasets, transforms``."""

from chainrule.vision import datasets, transforms  # noqa: F401
