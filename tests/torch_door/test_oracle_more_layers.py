"""Smaller ``torch.nn`` layers and ``nn.utils.rnn.pad_sequence`` as lectures use them, against torch 2.13:
values and the gradients they send back."""

import numpy as np
from torch_oracle import A, idiom_test, registry

IDIOMS, idiom = registry()
IMAGES = np.random.default_rng(5).standard_normal((2, 3, 5, 7)).astype(np.float32)


def _run(m, layer, array):
    x = m.T.tensor(array, requires_grad=True)
    y = layer(x)
    weights = np.cos(np.arange(y.numel())).reshape(tuple(y.shape)).astype(np.float32)  # Σy² of a norm is flat
    (y * m.T.tensor(weights)).sum().backward()
    return y, x.grad


@idiom
def reshaping_padding_and_pooling(m):
    return (_run(m, m.nn.Unflatten(1, (2, 2)), A), _run(m, m.nn.ZeroPad2d(1), IMAGES),
            _run(m, m.nn.ZeroPad2d((1, 0, 2, 1)), IMAGES),
            _run(m, m.nn.ConstantPad2d((0, 2, 1, 0), 0.5), IMAGES),
            _run(m, m.nn.ConstantPad1d(2, -1.0), A), _run(m, m.nn.AdaptiveMaxPool2d((2, 3)), IMAGES),
            _run(m, m.nn.AdaptiveMaxPool2d(1), IMAGES), _run(m, m.nn.AdaptiveAvgPool1d(3), IMAGES[:, :, 0]),
            _run(m, m.nn.Softmax2d(), IMAGES))


@idiom
def instance_norms(m):
    return (_run(m, m.nn.InstanceNorm2d(3), IMAGES), _run(m, m.nn.InstanceNorm2d(3, affine=True), IMAGES),
            _run(m, m.nn.InstanceNorm1d(3), IMAGES[:, :, 0]))


@idiom
def parameter_containers(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = m.nn.ParameterList([m.nn.Parameter(m.T.ones(4)) for _ in range(2)])
            self.shifts = m.nn.ParameterDict({"a": m.nn.Parameter(m.T.zeros(4))})

        def forward(self, x):
            for scale in self.scales:
                x = x * scale
            return x + self.shifts["a"]

    net = Net()
    y = net(m.T.tensor(A))
    y.sum().backward()
    return (sorted(n for n, _ in net.named_parameters()), len(net.scales), "a" in net.shifts, y,
            net.scales[0].grad, net.shifts["a"].grad)


@idiom
def padding_a_batch_of_sequences(m):
    seqs = [m.T.tensor([1.0, 2.0, 3.0], requires_grad=True), m.T.tensor([4.0], requires_grad=True),
            m.T.tensor([5.0, 6.0], requires_grad=True)]
    padded = m.nn.utils.rnn.pad_sequence(seqs)
    first = m.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    left = m.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_side="left")
    (padded * m.T.arange(9.0).reshape(3, 3)).sum().backward()
    tokens = m.nn.utils.rnn.pad_sequence([m.T.tensor([3, 1]), m.T.tensor([2])], batch_first=True)
    return padded, first, left, seqs[0].grad, seqs[1].grad, tokens


test_idiom_agrees_with_torch = idiom_test(IDIOMS)
