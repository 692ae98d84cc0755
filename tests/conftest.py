"""Suite-wide: tests of the faster forms keep them on when the suite runs with CHAINRULE_REFERENCE=1.

CI runs the whole suite twice, the default way and with every op on its reference form. A test that
checks a kernel against its reference (everything under tests/kernels/, and tests marked
``pytest.mark.kernels``) needs the kernels on in both runs; subprocesses it starts get the default.
"""

import pathlib
import sys

import pytest

from chainrule.autograd import seam

KERNEL_TESTS = pathlib.Path(__file__).parent / "kernels"

# the suite imports with --import-mode=importlib, which puts no test folder on sys.path: this one
# goes there so that tests can share helper modules (fresh_process)
if str(KERNEL_TESTS.parent) not in sys.path:
    sys.path.insert(0, str(KERNEL_TESTS.parent))


def pytest_configure(config):
    config.addinivalue_line("markers", "kernels: needs the registered kernels on (not reference mode)")


@pytest.fixture(autouse=True)
def _kernels_on_where_tested(request, monkeypatch):
    path = pathlib.Path(str(request.node.path))
    if KERNEL_TESTS in path.parents or request.node.get_closest_marker("kernels"):
        monkeypatch.delenv(seam.REFERENCE_VARIABLE, raising=False)
        with seam.use_reference_ops(False):
            yield
    else:
        yield
