"""The device for the tests in this folder (see ``device_under_test``).

The suite runs with ``--import-mode=importlib``, which does not put test folders on ``sys.path``: the
folder goes there so its tests can import ``device_under_test`` and ``strict_array``. For each test
here, ``"cuda"`` names the device under test (``cr.device("cuda")``, ``model.to("cuda")``); elsewhere
in the suite it keeps its own meaning (CuPy, or the error naming the ``gpu`` extra).
"""

import importlib
import os
import sys

import pytest

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import device_under_test  # noqa: E402 - registers the stand-in's array type with the backend

# the module (cr.device, the package's attribute, is the device class)
devices = importlib.import_module("chainrule.device")


@pytest.fixture(autouse=True)
def cuda_is_the_device_under_test():
    saved = devices._BACKENDS["cuda"]
    devices.register_backend("cuda", lambda: device_under_test.xp)
    yield
    devices.register_backend("cuda", saved)
