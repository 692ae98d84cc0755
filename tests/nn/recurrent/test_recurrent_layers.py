"""RNN, LSTM, GRU and their cells against a plain step-by-step NumPy loop written here."""

import json

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck, gradgradcheck


# ---------------------------------------------------------------- the reference, written plainly
def _sig(a):
    return 1 / (1 + np.exp(-a))


def np_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step of PyTorch's formulas, for one (N, in) input; returns (h', c')."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    hidden = h.shape[1]
    if mode == "RNN":
        pre = gi + gh
        return (np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)), None
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        return _sig(o) * np.tanh(c), c
    r = _sig(gi[:, :hidden] + gh[:, :hidden])
    z = _sig(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
    n = np.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
    return (1 - z) * n + z * h, None


def np_sequence(mode, params, x, h0, c0, num_layers, bidirectional, nonlinearity="tanh"):
    """Time-major x (T, N, in); returns output (T, N, D·H), h_n, c_n (L·D, N, H)."""
    directions = 2 if bidirectional else 1
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            suffix = f"l{layer}" + ("_reverse" if d else "")
            w = [params[f"{kind}_{suffix}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            k = layer * directions + d
            h, c = h0[k], (c0[k] if c0 is not None else None)
            out = [None] * len(x)
            for t in (reversed(range(len(x))) if d else range(len(x))):
                h, c = np_step(mode, x[t], h, c, *w, nonlinearity)
                out[t] = h
            outs.append(np.stack(out))
            h_n.append(h)
            c_n.append(c)
        x = np.concatenate(outs, axis=2)
    return x, np.stack(h_n), (np.stack(c_n) if mode == "LSTM" else None)


def _params(module):
    return {k: v.numpy().astype(np.float64) for k, v in module.state_dict().items()}


# ---------------------------------------------------------------- forward against the reference
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers, bidirectional, batch_first, with_state", [
    (1, False, False, False), (2, False, True, True), (1, True, False, True), (2, True, True, False)])
def test_sequence_layers_match_numpy_loop(mode, num_layers, bidirectional, batch_first, with_state):
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    layer = getattr(nn, mode)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                              batch_first=batch_first).double()
    steps, batch, directions = 5, 2, 2 if bidirectional else 1
    x = rng.standard_normal((steps, batch, 3))
    h0 = rng.standard_normal((num_layers * directions, batch, 4)) if with_state else \
        np.zeros((num_layers * directions, batch, 4))
    c0 = rng.standard_normal(h0.shape) if with_state else np.zeros(h0.shape)
    hx = None
    if with_state:
        hx = (cr.tensor(h0), cr.tensor(c0)) if mode == "LSTM" else cr.tensor(h0)
    out, state = layer(cr.tensor(x.transpose(1, 0, 2) if batch_first else x), hx)
    ref_out, ref_h, ref_c = np_sequence(mode, _params(layer), x, h0, c0 if mode == "LSTM" else None,
                                        num_layers, bidirectional)
    got = out.numpy().transpose(1, 0, 2) if batch_first else out.numpy()
    np.testing.assert_allclose(got, ref_out, rtol=1e-10, atol=1e-12)
    h_n = state[0] if mode == "LSTM" else state
    np.testing.assert_allclose(h_n.numpy(), ref_h, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(state[1].numpy(), ref_c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode, nonlinearity", [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None),
                                                ("GRU", None)])
def test_cells_match_numpy_step(mode, nonlinearity):
    rng = np.random.default_rng(1)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    cell = getattr(nn, mode + "Cell")(3, 4, **kwargs).double()
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    p = _params(cell)
    ref_h, ref_c = np_step(mode, x, h, c, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
                           nonlinearity or "tanh")
    got = cell(cr.tensor(x), (cr.tensor(h), cr.tensor(c)) if mode == "LSTM" else cr.tensor(h))
    got_h = got[0] if mode == "LSTM" else got
    np.testing.assert_allclose(got_h.numpy(), ref_h, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(got[1].numpy(), ref_c, rtol=1e-10, atol=1e-12)
    # without a state the cell starts from zeros; an unbatched input gives an unbatched output
    zero_h, zero_c = np_step(mode, x[:1], 0 * h[:1], 0 * c[:1], p["weight_ih"], p["weight_hh"],
                             p["bias_ih"], p["bias_hh"], nonlinearity or "tanh")
    single = cell(cr.tensor(x[0]))
    single_h = single[0] if mode == "LSTM" else single
    assert single_h.shape == (4,)
    np.testing.assert_allclose(single_h.numpy(), zero_h[0], rtol=1e-10, atol=1e-12)


def test_unbatched_sequence_and_no_bias():
    rng = np.random.default_rng(2)
    layer = nn.GRU(3, 4, bias=False, bidirectional=True).double()
    assert "bias_ih_l0" not in layer.state_dict()
    x = rng.standard_normal((5, 3))
    out, h_n = layer(cr.tensor(x))
    assert out.shape == (5, 8) and h_n.shape == (2, 4)
    params = {k: v.numpy().astype(np.float64) for k, v in layer.state_dict().items()}
    for suffix in ("l0", "l0_reverse"):
        params[f"bias_ih_{suffix}"] = params[f"bias_hh_{suffix}"] = np.zeros(12)
    ref_out, ref_h, _ = np_sequence("GRU", params, x[:, None], np.zeros((2, 1, 4)), None, 1, True)
    np.testing.assert_allclose(out.numpy(), ref_out[:, 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.numpy(), ref_h[:, 0], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- bidirectional shapes and final states
def test_bidirectional_lstm_shapes_and_final_states():
    cr.manual_seed(3)
    lstm = nn.LSTM(5, 6, num_layers=2, bidirectional=True)
    x = cr.tensor(np.random.default_rng(3).standard_normal((7, 4, 5)).astype(np.float32))
    out, (h_n, c_n) = lstm(x)
    assert out.shape == (7, 4, 12) and h_n.shape == c_n.shape == (4, 4, 6)
    assert out.dtype == h_n.dtype == np.float32
    np.testing.assert_array_equal(h_n.numpy()[-1], out.numpy()[0, :, 6:])  # reverse ends at t = 0
    np.testing.assert_array_equal(h_n.numpy()[-2], out.numpy()[-1, :, :6])  # forward ends at t = T−1
    out_bf, (h_bf, _) = nn.LSTM(5, 6, bidirectional=True, batch_first=True)(x.swapaxes(0, 1))
    assert out_bf.shape == (4, 7, 12) and h_bf.shape == (2, 4, 6)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_sequence_layer_gradients_by_finite_differences(mode):
    cr.manual_seed(4)
    layer = getattr(nn, mode)(2, 2, num_layers=2, bidirectional=True, batch_first=True).double()
    rng = np.random.default_rng(4)
    x = cr.Tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    h0 = cr.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    c0 = cr.Tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    w_hh, b_ih = layer.weight_hh_l1_reverse, layer.bias_ih_l0

    def f(x, h0, c0, w_hh, b_ih):
        out, state = layer(x, (h0, c0) if mode == "LSTM" else h0)
        return (out, *state) if mode == "LSTM" else (out, state)

    inputs = (x, h0, c0, w_hh, b_ih) if mode == "LSTM" else (x, h0, cr.Tensor(c0.data), w_hh, b_ih)
    assert gradcheck(f, inputs)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_an_empty_batch_runs_forward_and_backward(mode):
    """Zero sequences (the last, empty batch of a split): empty outputs, zero weight gradients."""
    layer = getattr(nn, mode)(3, 4)
    x = cr.randn(5, 0, 3, requires_grad=True)
    out, _ = layer(x)
    assert out.shape == (5, 0, 4)
    out.sum().backward()
    assert x.grad.shape == (5, 0, 3)
    for p in layer.parameters():
        assert p.grad.shape == p.shape and not p.grad.data.any()


def test_lstm_cell_second_derivatives():
    cell = nn.LSTMCell(2, 2).double()
    rng = np.random.default_rng(5)
    x, h, c = (cr.Tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(3))
    assert gradgradcheck(lambda x, h, c, w: F.lstm_cell(x, (h, c), cell.weight_ih, w, cell.bias_ih,
                                                        cell.bias_hh), (x, h, c, cell.weight_hh))


def test_gru_cell_second_derivatives():
    cell = nn.GRUCell(2, 2).double()
    rng = np.random.default_rng(6)
    x, h = (cr.Tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(2))
    assert gradgradcheck(lambda x, h, b: F.gru_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, b),
                         (x, h, cell.bias_hh))


# ---------------------------------------------------------------- module contracts
def test_parameters_are_named_shaped_and_initialised_like_pytorch():
    cr.manual_seed(7)
    gru = nn.GRU(3, 16, num_layers=2, bidirectional=True)
    shapes = {k: v.shape for k, v in gru.state_dict().items()}
    assert shapes["weight_ih_l0"] == (48, 3) and shapes["weight_hh_l0_reverse"] == (48, 16)
    assert shapes["weight_ih_l1"] == (48, 32) and shapes["bias_hh_l1_reverse"] == (48,)
    assert len(shapes) == 16
    values = np.concatenate([v.numpy().ravel() for v in gru.state_dict().values()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24  # U(−1/√16, 1/√16)
    cell = nn.LSTMCell(3, 5)
    assert cell.weight_ih.shape == (20, 3) and cell.bias_hh.shape == (20,)


@pytest.mark.parametrize("make", [
    lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu", dropout=0.5),
    lambda: nn.LSTM(3, 4, batch_first=True, bidirectional=True),
    lambda: nn.GRU(3, 4, bias=False),
    lambda: nn.LSTMCell(3, 4), lambda: nn.GRUCell(3, 4, bias=False),
    lambda: nn.RNNCell(3, 4, nonlinearity="relu")])
def test_get_config_rebuilds_an_equivalent_layer(make):
    layer = make()
    config = json.loads(json.dumps(layer.get_config()))
    twin = type(layer)(**config)
    twin.load_state_dict(layer.state_dict())
    assert repr(twin) == repr(layer)
    x = cr.tensor(np.ones((3, 2, 3) if "Cell" not in type(layer).__name__ else (2, 3), dtype=np.float32))
    a, b = layer.eval()(x), twin.eval()(x)
    first = lambda r: r[0] if isinstance(r, tuple) else r  # noqa: E731
    np.testing.assert_array_equal(first(a).numpy(), first(b).numpy())


def test_inter_layer_dropout_only_in_training():
    cr.manual_seed(8)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = cr.tensor(np.random.default_rng(8).standard_normal((4, 2, 3)).astype(np.float32))
    eval_out = lstm.eval()(x)[0].numpy()
    np.testing.assert_array_equal(lstm(x)[0].numpy(), eval_out)  # deterministic in eval
    train_out = lstm.train()(x)[0].numpy()
    assert not np.allclose(train_out, eval_out)
    single = nn.LSTM(3, 4, num_layers=1, dropout=0.5).train()
    np.testing.assert_array_equal(single(x)[0].numpy(), single.eval()(x)[0].numpy())  # last layer: none


def test_wrong_shapes_raise_errors_that_name_the_layer():
    lstm = nn.LSTM(3, 4, name="enc")
    with pytest.raises(cr.errors.ShapeError, match="LSTM 'enc'.*got \\(5, 2, 7\\)"):
        lstm(cr.tensor(np.zeros((5, 2, 7), dtype=np.float32)))
    with pytest.raises(cr.errors.ShapeError, match="initial state"):
        lstm(cr.tensor(np.zeros((5, 2, 3), dtype=np.float32)),
             (cr.tensor(np.zeros((1, 3, 4))), cr.tensor(np.zeros((1, 3, 4)))))
    with pytest.raises(cr.errors.ShapeError, match="tuple"):
        lstm(cr.tensor(np.zeros((5, 2, 3), dtype=np.float32)), cr.tensor(np.zeros((1, 2, 4))))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(cr.errors.ShapeError, match="LSTMCell 'cell'.*tuple"):
        nn.LSTMCell(3, 4, name="cell")(cr.tensor(np.zeros((2, 3), dtype=np.float32)),
                                       cr.tensor(np.zeros((2, 4), dtype=np.float32)))
    with pytest.raises(cr.errors.ShapeError, match="gru_cell.*state"):
        nn.GRUCell(3, 4)(cr.tensor(np.zeros((2, 3), dtype=np.float32)),
                         cr.tensor(np.zeros((2, 5), dtype=np.float32)))
