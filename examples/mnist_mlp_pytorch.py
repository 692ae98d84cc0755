"""The same MNIST MLP, PyTorch-style: an nn.Module, a DataLoader and a hand-written training loop.

The network returns log-probabilities (log_softmax) and the loss is the negative log-likelihood,
trained with SGD (learning rate 0.01, momentum 0.5), as in PyTorch's MNIST example.

    python examples/mnist_mlp_pytorch.py           # 10 epochs
    python examples/mnist_mlp_pytorch.py --quick   # 1 epoch on 500 digits (what the tests run)
"""

import os
import sys

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.data import DataLoader, TensorDataset, mnist

QUICK = "--quick" in sys.argv or os.environ.get("CHAINRULE_EXAMPLE_QUICK") == "1"
EPOCHS = 1 if QUICK else 10
cr.manual_seed(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.dropout(F.relu(self.fc2(x)))
        return F.log_softmax(self.fc3(x), axis=1)


(x_train, y_train), (x_test, y_test) = mnist.load()
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:500], y_train[:500], x_test[:200], y_test[:200]
x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
x_test = x_test.reshape(-1, 784).astype(np.float32) / 255
train_set = TensorDataset(x_train, y_train.astype(np.int64))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=1)
test_loader = DataLoader(TensorDataset(x_test, y_test.astype(np.int64)), batch_size=1000)

model = Net()
optimizer = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)


def train(epoch):
    model.train()
    for batch, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(cr.tensor(data)), cr.tensor(target))
        loss.backward()
        optimizer.step()
        if batch % 20 == 0:
            print(f"epoch {epoch} [{batch * len(data):5d}/{len(x_train)}]  loss: {loss.item():.4f}")


def test():
    model.eval()
    total_loss, correct = 0.0, 0
    with cr.no_grad():
        for data, target in test_loader:
            output = model(cr.tensor(data))
            total_loss += F.nll_loss(output, cr.tensor(target), reduction="sum").item()
            correct += int((output.numpy().argmax(axis=1) == np.asarray(target)).sum())
    print(f"test: average loss {total_loss / len(x_test):.4f}, accuracy {correct}/{len(x_test)} "
          f"({correct / len(x_test):.2%})")


for epoch in range(1, EPOCHS + 1):
    train(epoch)
    test()
