"""The lecture's two PyTorch listings, run with only their import lines changed (#12).

Each listing is the course's code as written (the autograd example of "Learning PyTorch with
examples", and the MNIST example of pytorch/examples), with sizes and epochs cut to keep the test
fast; the assertions after it check that it learnt.
"""

import numpy as np
import pytest

import chainrule as torch  # was: import torch
import chainrule.nn as nn  # was: import torch.nn as nn
import chainrule.nn.functional as F  # noqa: N812 - was: import torch.nn.functional as F
import chainrule.optim as optim  # was: import torch.optim as optim
from chainrule.data import download
from chainrule.vision import datasets, transforms  # was: from torchvision import datasets, transforms


def autograd_listing(steps):
    dtype = torch.float
    device = torch.device("cpu")

    # N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
    N, D_in, H, D_out = 64, 1000, 100, 10

    # Create random Tensors to hold input and outputs.
    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)

    # Create random Tensors for weights; requires_grad=True: we want gradients with respect to them
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    losses = []
    for t in range(steps):  # noqa: B007 - the listing's loop
        y_pred = x.mm(w1).tanh().mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad

            # Manually zero the gradients after updating weights
            w1.grad.zero_()
            w2.grad.zero_()
    return losses, (x, y, w1, w2)


def test_the_autograd_listing_runs_and_descends():
    torch.manual_seed(0)
    losses, (x, y, w1, w2) = autograd_listing(steps=60)
    assert losses[-1] < 0.9 * losses[0]
    assert w1.grad.abs().sum().item() == 0.0 and w1.is_leaf and w1.requires_grad


def test_the_autograd_listing_gradients_match_torch():
    real_torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    x, y = torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    w1 = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    (x.mm(w1).tanh().mm(w2) - y).pow(2).sum().backward()
    tw1, tw2 = (real_torch.tensor(w.numpy(), requires_grad=True) for w in (w1, w2))
    tx, ty = real_torch.tensor(x.numpy()), real_torch.tensor(y.numpy())
    (tx.mm(tw1).tanh().mm(tw2) - ty).pow(2).sum().backward()
    np.testing.assert_allclose(w1.grad.numpy(), tw1.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w2.grad.numpy(), tw2.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------- the MNIST example
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 - the lecture's Python 2 form
        self.fc1 = nn.Linear(28 * 28, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x)


class NetDim(Net):
    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x.view(-1, 28 * 28)))), dim=1)


def train(log_interval, model, device, train_loader, optimizer, epoch, max_batches):
    model.train()
    lines = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % log_interval == 0:
            lines.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(  # noqa: UP032
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
        if batch_idx + 1 == max_batches:
            break
    return lines


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.max(1, keepdim=True)[1]  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)


test.__test__ = False  # the listing's name for its evaluation, not a pytest test


@pytest.mark.parametrize("net", [Net, NetDim])
def test_the_mnist_listing_learns_offline(net, tmp_path, monkeypatch):
    def offline(url, timeout):
        raise OSError("no network in tests")

    monkeypatch.setattr(download, "open_url", offline)
    monkeypatch.setattr(datasets, "_warned", False)
    use_cuda = torch.cuda.is_available()
    torch.manual_seed(1)
    device = torch.device("cuda" if use_cuda else "cpu")
    kwargs = {'num_workers': 1, 'pin_memory': True} if use_cuda else {}
    with pytest.warns(UserWarning, match="embedded subset"):
        train_set = datasets.MNIST(tmp_path, train=True, download=True,
                                   transform=transforms.Compose([
                                       transforms.ToTensor(),
                                       transforms.Normalize((0.1307,), (0.3081,))
                                   ]))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(tmp_path, train=False, transform=transforms.Compose([
            transforms.ToTensor(),
            transforms.Normalize((0.1307,), (0.3081,))
        ])),
        batch_size=1000, shuffle=True, **kwargs)

    model = net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    before, _ = test(model, device, test_loader)
    lines = train(10, model, device, train_loader, optimizer, 1, max_batches=40)
    after, accuracy = test(model, device, test_loader)
    assert lines[0].startswith("Train Epoch: 1 [0/4000 (0%)]\tLoss: ")
    assert after < before and accuracy > 0.6
