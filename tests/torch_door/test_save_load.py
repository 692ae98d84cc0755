"""cr.save / cr.load: a state_dict or nested data in one safetensors file, never pickle (#12)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.errors import ChainruleError, FormatError

pytest.importorskip("safetensors")


def test_a_checkpoint_dict_round_trips(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cr.randn(5, 3)).sum().backward()
    optimizer.step()
    path = tmp_path / "checkpoint.pt"
    cr.save({"epoch": 7, "model_state_dict": model.state_dict(), "loss": 0.25, "note": "best",
             "history": [1.0, 0.5], "pair": (1, "a"), "none": None}, path)
    loaded = cr.load(path, map_location="cpu", weights_only=True)
    assert loaded["epoch"] == 7 and loaded["loss"] == 0.25 and loaded["note"] == "best"
    assert loaded["history"] == [1.0, 0.5] and loaded["pair"] == (1, "a") and loaded["none"] is None
    assert list(loaded["model_state_dict"]) == list(model.state_dict())
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    fresh.load_state_dict(loaded["model_state_dict"])
    for (name, ours), theirs in zip(fresh.state_dict().items(), model.state_dict().values()):
        assert isinstance(ours, cr.Tensor)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


def test_a_bare_tensor_and_a_list_of_tensors(tmp_path):
    x = cr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3))
    cr.save(x, tmp_path / "x.pt")
    back = cr.load(tmp_path / "x.pt")
    assert isinstance(back, cr.Tensor) and back.dtype == np.float64 and back.tolist() == x.tolist()
    cr.save([x, x.long()], tmp_path / "xs.pt")
    assert [t.dtype for t in cr.load(tmp_path / "xs.pt")] == [np.float64, np.int64]


def test_a_module_or_a_function_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ChainruleError, match=r"state_dict\(\)"):
        cr.save(nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(ChainruleError, match="no pickle"):
        cr.save({"f": print}, tmp_path / "f.pt")
    assert not (tmp_path / "f.pt").exists()


def test_loading_something_else_is_a_format_error(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x80\x04not a safetensors file at all")
    with pytest.raises(FormatError):
        cr.load(tmp_path / "junk.pt")
    model = nn.Linear(2, 2)
    cr.io.save_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(FormatError, match="chainrule.save"):
        cr.load(tmp_path / "w.safetensors")
