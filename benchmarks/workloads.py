"""The six workloads of ../shared/WORKLOADS.md: sizes, batch, unit, and the matrix products of one
training step (from which the FLOPs and the GEMM share come), shared by both sides."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    batch: int
    unit: str  # "s/60k" (seconds per 60,000 samples) or "tokens/s"
    flops: float  # 2·m·k·n summed over one training step's matrix products (forward + backward)

    def value(self, step_seconds):
        """The workload's reported figure for one step's median time."""
        if self.unit == "tokens/s":
            return self.batch * SEQUENCE / step_seconds
        samples = 50_000 if self.unit == "s/50k" else 60_000
        return step_seconds * samples / self.batch


SEQUENCE, VOCAB, EMBED, HIDDEN = 64, 65, 64, 256


def _dense(batch, sizes):
    """The products of dense layers: forward x·Wᵀ; backward gᵀ·x (weight) and, past the first layer,
    g·W (input; nothing needs the gradient of the data). Each (m, k, n): an (m, k) @ (k, n) product."""
    shapes = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        shapes += [(batch, n_in, n_out), (n_out, batch, n_in)]
        if i > 0:
            shapes.append((batch, n_out, n_in))
    return shapes


COLUMN_BLOCK = 2048  # the columns of one product in the convolution kernels' cache-sized chunks


def _conv(positions, c_in, kernel, c_out, input_grad):
    """A convolution as the products the im2col kernels make (``chainrule.kernels.conv``): forward
    weights (c_out, c_in·k²) times a block of columns (c_in·k², block), weight gradient columns
    times gᵀ (block, c_out), input gradient weightsᵀ (c_in·k², c_out) times g (c_out, block), over
    blocks of ``COLUMN_BLOCK`` of the positions (N·OH·OW). Timed as one (positions, c_in·k²) @
    (c_in·k², c_out) product instead, the 32-channel layer's input gradient took 38 ms on one thread
    against 6-7 ms in blocks (a fresh 75 MB output, and an orientation OpenBLAS runs slower)."""
    k = c_in * kernel * kernel
    whole, rest = divmod(positions, COLUMN_BLOCK)
    blocks = [COLUMN_BLOCK] * whole + ([rest] if rest else [])
    shapes = []
    for block in blocks:
        shapes += [(c_out, k, block), (k, block, c_out)] + ([(k, c_out, block)] if input_grad else [])
    return shapes


def _lenet(batch):
    return (_conv(batch * 28 * 28, 1, 5, 6, False) + _conv(batch * 10 * 10, 6, 5, 16, True)
            + _dense(batch, [400, 120, 84, 10]) + [(batch, 120, 400)])  # the input gradient of fc1


def _cifar(batch):
    """[conv 3x3 pad 1] x2 at 32 channels on 32x32, x2 at 64 on 16x16, then 4096-512-10."""
    return (_conv(batch * 32 * 32, 3, 3, 32, False) + _conv(batch * 32 * 32, 32, 3, 32, True)
            + _conv(batch * 16 * 16, 32, 3, 64, True) + _conv(batch * 16 * 16, 64, 3, 64, True)
            + _dense(batch, [4096, 512, 10]) + [(batch, 512, 4096)])  # the input gradient of fc1


def _lstm(batch):
    tokens, gates = batch * SEQUENCE, 4 * HIDDEN
    per_step = [(batch, HIDDEN, gates), (batch, gates, HIDDEN)]  # h·W_hhᵀ forward, its input gradient
    return (per_step * SEQUENCE
            + [(tokens, EMBED, gates), (gates, tokens, EMBED), (tokens, gates, EMBED)]  # input projection
            + [(HIDDEN, tokens, gates)]  # dW_hh over all steps in one product
            + [(tokens, HIDDEN, VOCAB), (VOCAB, tokens, HIDDEN), (tokens, VOCAB, HIDDEN)])  # the head


def flops(shapes):
    return sum(2 * m * k * n for m, k, n in shapes)


GEMMS = {
    "mlp": _dense(128, [784, 512, 512, 10]),
    "ae": _dense(256, [784, 32, 784]),
    "deep_ae": _dense(256, [784, 128, 64, 32, 64, 128, 784]),
    "lenet5": _lenet(128),
    "char_lstm": _lstm(64),
    "cifar_cnn": _cifar(64),
}
WORKLOADS = {
    "mlp": Workload("mlp", 128, "s/60k", flops(GEMMS["mlp"])),
    "ae": Workload("ae", 256, "s/60k", flops(GEMMS["ae"])),
    "deep_ae": Workload("deep_ae", 256, "s/60k", flops(GEMMS["deep_ae"])),
    "lenet5": Workload("lenet5", 128, "s/60k", flops(GEMMS["lenet5"])),
    "char_lstm": Workload("char_lstm", 64, "tokens/s", flops(GEMMS["char_lstm"])),
    "cifar_cnn": Workload("cifar_cnn", 64, "s/50k", flops(GEMMS["cifar_cnn"])),
}
