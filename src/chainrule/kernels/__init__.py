"""Faster forms of the reference ops, one module per op family, attached through one seam.

Importing this package (``import chainrule`` does, last) registers every kernel with
:func:`chainrule.autograd.seam.register` and installs the product of the ``mkl`` extra behind
:func:`chainrule.backend.gemm`; it imports neither Numba nor MKL: the compiled modules in
:mod:`chainrule.kernels.compiled` load at a kernel's first call, MKL at the first product.

    activation   ReLU and sigmoid backward (reused memory, Numba)    loss         cross-entropies
    conv         chunked im2col, Numba col2im and register tiles     pool        max-pool (Numba)
    linear       the dense layer's backward on arrays                 recurrent    RNN, GRU sequences
    lstm         the fused LSTM sequence (NumPy gates, Numba, MKL)    embedding    the lookup's backward
    optimizers   one-pass Numba updates                               mkl          MKL products (ctypes)
    normalization  batch norm on channel rows (NumPy, Numba)       blas_route   MKL or NumPy's BLAS: timed
    workspace    memory reused from step to step

Switches: ``CHAINRULE_REFERENCE=1`` (or :func:`chainrule.use_reference_ops`) runs the reference ops
alone; ``CHAINRULE_NO_NUMBA=1`` keeps the NumPy kernels and drops the compiled ones;
``CHAINRULE_BLAS=numpy`` keeps NumPy's product, ``=mkl`` forces MKL's; unset, MKL runs the products
only where it measured faster at the first one (:func:`blas_choice` says what was chosen and why).
"""

from chainrule import backend
from chainrule.kernels import (
    activation,
    conv,
    embedding,
    linear,
    loss,
    lstm,
    normalization,
    optimizers,
    pool,
    recurrent,
)
from chainrule.kernels.blas_route import blas_choice, first_gemm

backend.set_gemm(first_gemm)  # looks for MKL and times it at the first product, not here

__all__ = ["activation", "blas_choice", "conv", "embedding", "linear", "loss", "lstm", "normalization",
           "optimizers", "pool", "recurrent"]
