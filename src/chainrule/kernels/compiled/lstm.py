"""Fused Numba kernels for the LSTM's gate arithmetic at one time step (float32).

The NumPy forms in :mod:`chainrule.kernels.lstm` (``NumpyLSTMGates.forward`` / ``.backward``)
are their reference: about a dozen whole-array calls per step each way, ~1,600 calls per step of a
64-step sequence forward and backward. Each kernel here does the same arithmetic element by element,
row by row (two short passes over a row that stays in L1), and is tested equal to the NumPy form
(tests/kernels/test_lstm_kernels.py). The matrix products stay with BLAS.

tanh has no vectorisable form in Numba (each call goes to libm, ~20x slower than NumPy's SIMD tanh),
so the kernels use a rational approximation, tanh(x) ≈ x·P(x²)/Q(x²) with P, Q of degree 4, fitted
here by iterated least squares on [0, 9] (beyond 9, tanh rounds to ±1 in float32). It is within 6 ulp
(3.4e-7 absolute) of the true tanh in float32, where NumPy's tanh is within 1 ulp. The kernels are
therefore used for float32 only; float64 runs keep the NumPy form. σ(a) = ½·tanh(½a) + ½, as in
the NumPy form.

Measured and NOT adopted, so that nobody tries them again blind (figures: benchmarks/README.md):
- splitting each call over the 2 cores (``numba.prange`` over two fixed row halves, the bias
  gradient as two partial sums added in order): slower in the real step, because MKL's worker
  threads spin on the other core for ``KMP_BLOCKTIME`` after every product and the two thread
  pools then time-slice one core. The per-call split on MKL's own OpenMP team
  (``__kmpc_fork_call`` through ctypes) was kept for a while and removed: under 5% of the
  character LSTM's step. What pays instead is one split per sequence, each part of the rows
  running every step with its products on register tiles
  (:mod:`chainrule.kernels.compiled.lstm_sequence`), where no BLAS worker spins;
- one divide for two tanh (1/(q₁q₂) times the other denominator): no faster, the loop is not
  divide-bound once vectorised; written over four gate streams it stopped vectorising (6x slower);
- software prefetch of the next step's activations: no measurable change.

Importing this module compiles nothing: Numba compiles at the first call or loads its disk cache.
"""

import numba
import numpy

# x·P(x²)/Q(x²), coefficients from the lowest power up; all positive, so Q never vanishes.
_P0, _P1, _P2, _P3, _P4 = (numpy.float32(c) for c in
                           (9.99999994e-01, 1.33942894e-01, 3.51128576e-03, 2.08652965e-05, 1.37058720e-08))
_Q1, _Q2, _Q3, _Q4 = (numpy.float32(c) for c in
                      (4.67276112e-01, 2.59368429e-02, 3.31121479e-04, 7.92110287e-07))
_CLAMP = numpy.float32(9.0)
_HALF = numpy.float32(0.5)
_ONE = numpy.float32(1.0)
_ZERO = numpy.float32(0.0)

# No "nnan"/"ninf": a NaN must come out as NaN, as it does from NumPy. "contract" allows FMAs.
FASTMATH_FLAGS = {"contract", "arcp", "nsz"}


@numba.njit(cache=True, inline="always", fastmath=FASTMATH_FLAGS, error_model="numpy")
def tanh32(x):
    """tanh in float32 as a rational function: only multiplies, adds and one divide (vectorises)."""
    if x > _CLAMP:  # written as ifs, not min/max, so that NaN passes through
        x = _CLAMP
    elif x < -_CLAMP:
        x = -_CLAMP
    x2 = x * x
    p = (((_P4 * x2 + _P3) * x2 + _P2) * x2 + _P1) * x2 + _P0
    q = (((_Q4 * x2 + _Q3) * x2 + _Q2) * x2 + _Q1) * x2 + _ONE
    y = x * p / q
    if y > _ONE:  # the fit overshoots 1 by an ulp near the clamp; |tanh| ≤ 1 keeps σ in [0, 1]
        y = _ONE
    elif y < -_ONE:
        y = -_ONE
    return y


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")
def tanh_kernel(x, out):
    """out = tanh32(x) elementwise over 2-D arrays (to test the approximation on its own)."""
    for n in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[n, j] = tanh32(x[n, j])


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")
def gates_forward_kernel(a, xproj, bias, c_prev, c, h):
    """a ← (σ(i), σ(f), tanh(g), σ(o)) of a + xproj + bias;  c = f c_prev + i g;  h = o tanh(c).

    a, xproj (N, 4H) with a holding h_{t−1} W_hhᵀ on entry; bias (4H,); c_prev, c, h (N, H).
    xproj may be None: then a holds both terms already (the product was added into the projection
    inside the GEMM, see ``LSTMRecurrence.forward``) and one input stream fewer is read here; Numba
    compiles that case separately, with the branch removed.
    Two passes per row (three with xproj: its sum into the row, while the row is in L1). The first
    runs once along the whole contiguous row of 4H pre-activations, with σ(x) = ½·tanh(½x) + ½ and
    tanh(x) = 1·tanh(1·x) + 0 taken from per-column scale and shift vectors: three long memory
    streams, which the hardware prefetcher follows, instead of eleven interleaved quarter-row streams
    (measured 10% faster alone, 8% in the training step). The second forms c and h from the
    activations, which are still in L1.
    The inner loops run over 1-D row slices: LLVM vectorises that form, and not the same loop written
    with 2-D indices or over a sub-range (measured 5-7x slower).
    """
    hidden = c.shape[1]
    width = 4 * hidden
    scale = numpy.full(width, _HALF, dtype=a.dtype)  # ½ for the σ blocks i, f, o; 1 for g
    shift = numpy.full(width, _HALF, dtype=a.dtype)
    scale[2 * hidden:3 * hidden] = _ONE
    shift[2 * hidden:3 * hidden] = _ZERO
    for n in range(a.shape[0]):
        an = a[n]
        if xproj is not None:
            xn = xproj[n]
            for j in range(width):
                an[j] += xn[j]
        for j in range(width):
            s = scale[j]
            an[j] = s * tanh32(s * (an[j] + bias[j])) + shift[j]
        ai, af = an[:hidden], an[hidden:2 * hidden]
        ag, ao = an[2 * hidden:3 * hidden], an[3 * hidden:]
        cp, cn, hn = c_prev[n], c[n], h[n]
        for j in range(hidden):
            cell = af[j] * cp[j] + ai[j] * ag[j]
            cn[j] = cell
            hn[j] = ao[j] * tanh32(cell)


@numba.njit(cache=True, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")
def gates_backward_kernel(a, c_prev, c, g_out, dh, dc, dbias):
    """One step back: dh ← dh + g_out, dc ← dc + dh·o·(1 − tanh²c), a ← da (in place), dc ← dc·f.

    tanh(c) is recomputed from the step's cell state c: one tanh costs less than storing it in the
    forward and reading it back.

    a (N, 4H) the activations of the step on entry, the gradients of the pre-activations on exit;
    dbias (4H,) (float64) += Σ_n da; the others (N, H). On entry dh holds the gradient from the later
    step's recurrent product, dc the later step's cell gradient. The bias gradient is summed row by
    row right after each row of da is written, while it is in L1: a separate pass over all
    T·N rows is saved, and the element loop stays free of the float64 accumulators, which cost it
    its vectorisation (the accumulation inside that loop measured 1.6x slower than this form). Rows
    are added in order, so the sum is the same, bit for bit, as in the fused form.
    """
    hidden = dc.shape[1]
    width = 4 * hidden
    for n in range(a.shape[0]):
        ai, af = a[n, :hidden], a[n, hidden:2 * hidden]
        ag, ao = a[n, 2 * hidden:3 * hidden], a[n, 3 * hidden:]
        cp, cn, gn, dhn, dcn = c_prev[n], c[n], g_out[n], dh[n], dc[n]
        for j in range(hidden):
            i, f, g, o, tc = ai[j], af[j], ag[j], ao[j], tanh32(cn[j])
            grad_h = dhn[j] + gn[j]
            dhn[j] = grad_h
            grad_c = dcn[j] + grad_h * o * (_ONE - tc * tc)
            ai[j] = grad_c * g * (i - i * i)  # all four activations were read above
            af[j] = grad_c * cp[j] * (f - f * f)
            ag[j] = grad_c * i * (_ONE - g * g)
            ao[j] = grad_h * tc * (o - o * o)
            dcn[j] = grad_c * f
        da = a[n]
        for j in range(width):
            dbias[j] += da[j]
