"""Devices and dtype names, as PyTorch code writes them: ``cr.device("cpu")``, ``cr.float32``.

A device names where a tensor's array lives, and each device kind has one array module: NumPy for
``"cpu"``. The GPU backend (CuPy, the ``gpu`` extra) plugs in by registering the module for
``"cuda"`` with :func:`register_backend`; until then asking for ``"cuda"`` raises one clear error.
"""

import numpy

from chainrule import backend, gpu
from chainrule.errors import ConfigError

# PyTorch's dtype names, as NumPy dtypes: accepted wherever a NumPy dtype is.
float16 = half = numpy.float16
float32 = numpy.float32
float64 = double = numpy.float64
int8 = numpy.int8
int16 = short = numpy.int16
int32 = numpy.int32
int64 = long = numpy.int64
uint8 = numpy.uint8
bool_ = numpy.bool_
DTYPE_NAMES = {"float16": float16, "half": half, "float32": float32, "float": float32, "float64": float64,
               "double": double, "int8": int8, "int16": int16, "short": short, "int32": int32,
               "int": int32, "int64": int64, "long": long, "uint8": uint8, "bool": bool_}


def _numpy_module():
    return numpy


def _cupy_module():
    try:
        import cupy
    except ImportError:
        raise ConfigError("device 'cuda': no GPU backend is installed; install the `gpu` extra "
                          "(pip install 'chainrule[gpu]', which brings CuPy) on a machine with an NVIDIA "
                          "GPU, or use the device 'cpu'") from None
    return cupy


# device type -> a function returning its array module (imported only when first asked for)
_BACKENDS = {"cpu": _numpy_module, "cuda": _cupy_module}


def register_backend(kind, module_loader):
    """Make ``device(kind)`` use the array module that ``module_loader()`` returns."""
    _BACKENDS[kind] = module_loader


class device:  # noqa: N801 - PyTorch's name
    """Where tensors live: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``."""

    __slots__ = ("type", "index")

    def __init__(self, kind, index=None):
        if isinstance(kind, device):
            kind, index = kind.type, kind.index
        kind = str(kind)
        if ":" in kind:
            kind, _, number = kind.partition(":")
            index = int(number)
        if kind not in _BACKENDS:
            raise ConfigError(f"unknown device {kind!r}: expected one of {sorted(_BACKENDS)}")
        self.type, self.index = kind, index

    def array_module(self):
        """The module whose arrays live on this device (``numpy`` for the CPU); raises if absent."""
        return _BACKENDS[self.type]()

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = device("cpu")


def of_array(array):
    """The device an array lives on: the CPU for NumPy's, else the GPU that holds it."""
    return CPU if backend.on_host(array) else device("cuda", array.device.id)


def resolve(where):
    """A :class:`device` from a device, a string such as ``"cpu"``, or None (the CPU)."""
    if where is None:
        return CPU
    if isinstance(where, device):
        return where
    if isinstance(where, (str, int)) and not isinstance(where, bool):
        return device(where if isinstance(where, str) else f"cuda:{where}")
    # a torch.device, or anything else whose str() names a device
    return device(str(where))


def is_device(value):
    """True when ``value`` names a device (rather than a dtype) in ``.to(...)``."""
    if isinstance(value, device):
        return True
    if isinstance(value, str):
        return value.partition(":")[0] in _BACKENDS
    return type(value).__name__ == "device"  # a torch.device


def move(array, where):
    """``array`` on the device ``where`` (the same array when it is already there)."""
    target = resolve(where)
    if of_array(array) == target or (target.index is None and of_array(array).type == target.type):
        return array
    return gpu.move_array(array, target.array_module())


def as_dtype(dtype):
    """A NumPy dtype from a NumPy dtype, a type, a name (``"float32"``, ``"long"``) or a torch dtype."""
    if isinstance(dtype, str) and dtype in DTYPE_NAMES:
        return numpy.dtype(DTYPE_NAMES[dtype])
    if type(dtype).__module__ == "torch":  # torch.float32 -> "float32"
        return as_dtype(str(dtype).rpartition(".")[2])
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise ConfigError(f"not a dtype: {dtype!r}; use e.g. cr.float32, cr.int64 or 'float64'") from None


class cuda:  # noqa: N801 - PyTorch's module name, a namespace here
    """``cr.cuda.is_available()``: True only when the GPU backend is installed and sees a GPU."""

    @staticmethod
    def is_available():
        try:
            xp = device("cuda").array_module()
            return xp.cuda.runtime.getDeviceCount() > 0
        except Exception:  # no CuPy, no driver, no device: all mean "not available"
            return False

    @staticmethod
    def device_count():
        return 1 if cuda.is_available() else 0

    @staticmethod
    def manual_seed(seed):
        """Seeding the GPU's stream: nothing to do where the CPU generator draws everything."""

    @staticmethod
    def manual_seed_all(seed):
        """As :meth:`manual_seed`: device draws are seeded from the library's stream (``cr.manual_seed``)."""


class accelerator:  # noqa: N801 - PyTorch's module name, a namespace here
    """PyTorch's device-agnostic calls, as its tutorials write them since 2.6::

        device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"

    The one accelerator chainrule drives is an NVIDIA GPU through CuPy (the ``gpu`` extra)."""

    @staticmethod
    def is_available():
        return cuda.is_available()

    @staticmethod
    def current_accelerator(check_available=False):
        """``device("cuda")`` where the GPU backend sees a GPU, else None (as PyTorch's CPU build)."""
        return device("cuda") if cuda.is_available() else None

    @staticmethod
    def device_count():
        return cuda.device_count()

    @staticmethod
    def current_device_index():
        """0, the one GPU chainrule uses, where there is one; -1 otherwise."""
        return 0 if cuda.is_available() else -1


class backends:  # noqa: N801 - PyTorch's module name, a namespace here
    """``cr.backends.cudnn.deterministic = True`` and friends, from seeding boilerplate: settings kept
    for code that sets them; chainrule's ops are deterministic and have no cuDNN to tune. Apple's GPU
    (``backends.mps``) is not one chainrule drives: its checks say False, so the tutorials' device
    choice falls through to the CPU."""

    class cudnn:  # noqa: N801
        enabled = True
        deterministic = False
        benchmark = False

        @staticmethod
        def is_available():
            return False

    class mps:  # noqa: N801
        @staticmethod
        def is_available():
            return False

        @staticmethod
        def is_built():
            return False


def get_default_dtype():
    """The dtype of floats made without one (``cr.tensor(1.0)``, ``cr.zeros(2)``): float32."""
    return backend.DEFAULT_FLOAT
