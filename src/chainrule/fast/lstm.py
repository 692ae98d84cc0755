"""One-pass Numba kernels for the LSTM's gate arithmetic at one time step (float32).

The NumPy forms in :mod:`chainrule.ops.recurrent` (``lstm_gates_forward`` / ``lstm_gates_backward``)
are the reference: about a dozen whole-array calls per step each way, ~1,600 calls per step of a
64-step sequence forward and backward. Each kernel here does the same arithmetic element by element
in one pass over the (N, 4H) gate block, which stays in cache, and is tested equal to the NumPy form
(tests/fast/test_lstm_kernels.py). The matrix products stay with BLAS.

tanh has no vectorisable form in Numba (each call goes to libm, ~20x slower than NumPy's SIMD tanh),
so the kernels use a rational approximation, tanh(x) ≈ x·P(x²)/Q(x²) with P, Q of degree 4, fitted
here by iterated least squares on [0, 9] (beyond 9, tanh rounds to ±1 in float32). It is within 6 ulp
(3.4e-7 absolute) of the true tanh in float32, where NumPy's tanh is within 1 ulp. The kernels are
therefore used for float32 only; float64 runs keep the NumPy form. σ(a) = ½·tanh(½a) + ½, as in
the NumPy form.

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

# No "nnan"/"ninf": a NaN must come out as NaN, as it does from NumPy. "contract" allows FMAs.
_FLAGS = {"contract", "arcp", "nsz"}


@numba.njit(cache=True, inline="always", fastmath=_FLAGS, error_model="numpy")
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


@numba.njit(cache=True, inline="always", fastmath=_FLAGS, error_model="numpy")
def _sigmoid32(x):
    return _HALF * tanh32(_HALF * x) + _HALF


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def tanh_kernel(x, out):
    """out = tanh32(x) elementwise over 2-D arrays (to test the approximation on its own)."""
    for n in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[n, j] = tanh32(x[n, j])


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def gates_forward_kernel(a, xproj, bias, c_prev, c, h):
    """a ← (σ(i), σ(f), tanh(g), σ(o)) of a + xproj + bias;  c = f c_prev + i g;  h = o tanh(c).

    a, xproj (N, 4H) with a holding h_{t−1} W_hhᵀ on entry; bias (4H,); c_prev, c, h (N, H).
    The inner loop runs over 1-D row slices, one per gate block: LLVM vectorises that form, and not
    the same loop written with 2-D indices (measured 7x slower).
    """
    hidden = c.shape[1]
    bi, bf, bg, bo = bias[:hidden], bias[hidden:2 * hidden], bias[2 * hidden:3 * hidden], bias[3 * hidden:]
    for n in range(a.shape[0]):
        ai, af = a[n, :hidden], a[n, hidden:2 * hidden]
        ag, ao = a[n, 2 * hidden:3 * hidden], a[n, 3 * hidden:]
        xi, xf = xproj[n, :hidden], xproj[n, hidden:2 * hidden]
        xg, xo = xproj[n, 2 * hidden:3 * hidden], xproj[n, 3 * hidden:]
        cp, cn, hn = c_prev[n], c[n], h[n]
        for j in range(hidden):
            i = _sigmoid32(ai[j] + xi[j] + bi[j])
            f = _sigmoid32(af[j] + xf[j] + bf[j])
            g = tanh32(ag[j] + xg[j] + bg[j])
            o = _sigmoid32(ao[j] + xo[j] + bo[j])
            ai[j], af[j], ag[j], ao[j] = i, f, g, o
            cell = f * cp[j] + i * g
            cn[j] = cell
            hn[j] = o * tanh32(cell)


@numba.njit(cache=True, nogil=True, fastmath=_FLAGS, error_model="numpy")
def gates_backward_kernel(a, c_prev, c, g_out, dh, dc, dbias):
    """One step back: dh ← dh + g_out, dc ← dc + dh·o·(1 − tanh²c), a ← da (in place), dc ← dc·f.

    tanh(c) is recomputed from the step's cell state c: one tanh costs less than storing it in the
    forward and reading it back.

    a (N, 4H) the activations of the step on entry, the gradients of the pre-activations on exit;
    dbias (4H,) (float64) += Σ_n da; the others (N, H). On entry dh holds the gradient from the
    later step's recurrent product, dc the later step's cell gradient. Summing the bias gradient
    here, while da is in registers, saves a separate pass over all T·N rows of the gate gradients.
    """
    hidden = dc.shape[1]
    si, sf = dbias[:hidden], dbias[hidden:2 * hidden]
    sg, so = dbias[2 * hidden:3 * hidden], dbias[3 * hidden:]
    for n in range(a.shape[0]):
        ai, af = a[n, :hidden], a[n, hidden:2 * hidden]
        ag, ao = a[n, 2 * hidden:3 * hidden], a[n, 3 * hidden:]
        cp, cn, gn, dhn, dcn = c_prev[n], c[n], g_out[n], dh[n], dc[n]
        for j in range(hidden):
            i, f, g, o, tc = ai[j], af[j], ag[j], ao[j], tanh32(cn[j])
            grad_h = dhn[j] + gn[j]
            dhn[j] = grad_h
            grad_c = dcn[j] + grad_h * o * (_ONE - tc * tc)
            d_i = grad_c * g * (i - i * i)
            d_f = grad_c * cp[j] * (f - f * f)
            d_g = grad_c * i * (_ONE - g * g)
            d_o = grad_h * tc * (o - o * o)
            ai[j], af[j], ag[j], ao[j] = d_i, d_f, d_g, d_o  # all four were read above
            si[j] += d_i
            sf[j] += d_f
            sg[j] += d_g
            so[j] += d_o
            dcn[j] = grad_c * f
