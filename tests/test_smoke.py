import numpy as np

import chainrule as cr


def test_worked_example_from_the_lecture():
    x1 = cr.tensor(2.0, requires_grad=True)
    x2 = cr.tensor(3.0, requires_grad=True)
    y1 = cr.sin(x1 * x2)
    y1.backward()
    assert np.isclose(x1.grad.item(), 3 * np.cos(6), rtol=1e-6)
    assert np.isclose(x2.grad.item(), 2 * np.cos(6), rtol=1e-6)
