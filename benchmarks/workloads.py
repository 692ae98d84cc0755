"""The five workloads of ../shared/WORKLOADS.md: sizes, batch, unit and FLOPs, shared by both sides."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    batch: int
    unit: str  # "s/60k" (seconds per 60,000 samples) or "tokens/s"
    flops: float  # multiply-adds x2 of one training step's matrix products (forward + backward)

    def value(self, step_seconds):
        """The workload's reported figure for one step's median time."""
        if self.unit == "tokens/s":
            return self.batch * SEQUENCE / step_seconds
        return step_seconds * 60_000 / self.batch


SEQUENCE, VOCAB, EMBED, HIDDEN = 64, 65, 64, 256


def _dense_flops(batch, sizes):
    """Forward 2·B·in·out per layer; backward adds the weight gradient and, past the first layer,
    the input gradient (nothing needs the gradient of the data)."""
    total = 0
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        total += 2 * batch * n_in * n_out * (2 if i == 0 else 3)
    return total


def _lenet_flops(batch):
    conv1 = 2 * batch * 28 * 28 * 6 * 1 * 25 * 2  # forward + weight gradient (input needs none)
    conv2 = 2 * batch * 10 * 10 * 16 * 6 * 25 * 3
    return conv1 + conv2 + _dense_flops(batch, [400, 120, 84, 10]) + 2 * batch * 400 * 120


def _lstm_flops(batch):
    tokens = batch * SEQUENCE
    per_token = 2 * EMBED * 4 * HIDDEN * 2 + 2 * HIDDEN * 4 * HIDDEN * 3 + 2 * HIDDEN * VOCAB * 3
    return tokens * per_token


WORKLOADS = {
    "mlp": Workload("mlp", 128, "s/60k", _dense_flops(128, [784, 512, 512, 10])),
    "ae": Workload("ae", 256, "s/60k", _dense_flops(256, [784, 32, 784])),
    "deep_ae": Workload("deep_ae", 256, "s/60k", _dense_flops(256, [784, 128, 64, 32, 64, 128, 784])),
    "lenet5": Workload("lenet5", 128, "s/60k", _lenet_flops(128)),
    "char_lstm": Workload("char_lstm", 64, "tokens/s", _lstm_flops(64)),
}
