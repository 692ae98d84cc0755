"""Register tiles: matrix-product arithmetic held in the CPU's vector registers, as LLVM vector code.

A product out = a @ b, written so that each output element keeps its sum in memory, runs at the
speed of the loads and stores (LLVM vectorises only innermost loops: 135-200 GFLOP/s here). A tile
instead keeps ``rows`` output rows by ``vectors`` SIMD vectors of columns in registers while it runs
down the inner dimension: per step, ``vectors`` loads of b and ``rows`` broadcast values of a feed
rows·vectors fused multiply-adds, and the output is written once (450-510 GFLOP/s on two cores
here; benchmarks/README.md). Numba cannot say that in Python, so the tiles are ``@intrinsic``
functions that emit the loop and the straight-line vector code around it.

Two tiles, used by :mod:`chainrule.kernels.compiled.conv_tiles` (convolutions, b read in place from
the image) and :mod:`chainrule.kernels.compiled.lstm` (the recurrent product, b packed once per
sequence into panels, :func:`pack_panels` and :func:`panel_product`):

- the product tile, out[r, cols] = shift[r] + Σ_t a[r, t] · b[offset[t] + cols], with a packed as
  (blocks, taps, rows) so that a tap's ``rows`` values sit side by side;
- the gradient tile, sums[r][s] = Σ g[r, cols] · x[offset[s] + cols], rows × taps vector sums whose
  lanes are added at the end (a convolution's weight gradient).

Shapes. Vectors are as wide as the CPU's (64 bytes with AVX-512, 32 with AVX, else 16 bytes) and
tiles as large as its vector registers hold (32 with AVX-512 or on ARM, 16 on other x86); they
follow ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` when a cache is built for another CPU.

Numba's cache keys a compiled function on its own file only: after editing this file, clear the
cache of the modules that use the tiles (an install rewrites every file, so users are not affected).
"""

import numba
import numpy
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_ARM = binding.get_process_triple().startswith(("aarch64", "arm64"))


def _vector_shape():
    """(vector bytes, vector registers) of the CPU Numba compiles for: this one's, or with
    ``NUMBA_CPU_NAME`` set (a cache shared between machines) what ``NUMBA_CPU_FEATURES`` names, else
    the architecture's baseline (wider vectors than the target has would spill every tile)."""
    if numba.config.CPU_NAME in (None, "host"):
        features = binding.get_host_cpu_features()
    else:
        named = (numba.config.CPU_FEATURES or "").split(",")
        features = {flag[1:]: True for flag in named if flag.startswith("+")}
    if features.get("avx512f"):
        return 64, 32
    if features.get("avx"):
        return 32, 16
    return 16, 32 if _ARM else 16


VECTOR_BYTES, REGISTERS = _vector_shape()
# x86 code for 16-byte vectors (Numba told to target a generic CPU) has neither the width nor fused
# multiply-adds: 68 GFLOP/s forward on cifar_cnn's layers, where the unfolded products on the BLAS's
# own wide kernels reach 130-180 (benchmarks/README.md); there the tiles stand aside
WORTHWHILE = VECTOR_BYTES >= 32 or _ARM
# forward tile: rows·vectors accumulators + vectors loads + one broadcast weight fit the registers
FORWARD_ROWS, FORWARD_VECTORS = (8, 3) if REGISTERS >= 32 else (4, 3)
# weight-gradient tile: rows·taps sums + rows + taps loads
GRAD_ROWS, GRAD_TAPS = (4, 4) if REGISTERS >= 32 else (3, 3)


def _lanes(dtype):
    return VECTOR_BYTES // numpy.dtype(str(dtype)).itemsize


# ---------------------------------------------------------------- LLVM vector helpers
def _operands(context, builder, sig, args):
    """The intrinsic's arguments as LLVM values: an array as the pointer to its data, an integer as
    a 64-bit index."""
    values = []
    for kind, value in zip(sig.args, args):
        if isinstance(kind, types.Array):
            values.append(context.make_array(kind)(context, builder, value).data)
        else:
            values.append(context.cast(builder, value, kind, types.intp))
    return values


def _length(context, builder, array_type, array):
    return builder.extract_value(context.make_array(array_type)(context, builder, array).shape, 0)


def _load_vector(builder, base, offset, vector):
    address = builder.bitcast(builder.gep(base, [offset]), vector.as_pointer())
    return builder.load(address, align=1)


def _store_vector(builder, value, base, offset, vector):
    builder.store(value, builder.bitcast(builder.gep(base, [offset]), vector.as_pointer()), align=1)


def _broadcast(builder, scalar, vector):
    undefined = ir.Constant(vector, ir.Undefined)
    one = builder.insert_element(undefined, scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(one, undefined, ir.Constant(ir.VectorType(ir.IntType(32), vector.count),
                                                              [0] * vector.count))


def _fma(builder, vector):
    """a·b + c on vectors: one fused instruction where the CPU has one (``fmuladd``, unlike ``fma``,
    falls back to a multiply and an add rather than a slow exact emulation)."""
    suffix = f"v{vector.count}f{32 if isinstance(vector.element, ir.FloatType) else 64}"
    function = ir.FunctionType(vector, [vector, vector, vector])
    return cgutils.get_or_insert_function(builder.module, function, f"llvm.fmuladd.{suffix}")


def _horizontal_sum(builder, value, vector):
    """The sum of a vector's lanes, as a tree of halves (the same order on every call)."""
    width = vector.count
    while width > 1:
        width //= 2
        indices = ir.VectorType(ir.IntType(32), width)
        low = builder.shuffle_vector(value, value, ir.Constant(indices, list(range(width))))
        high = builder.shuffle_vector(value, value, ir.Constant(indices, list(range(width, 2 * width))))
        value = builder.fadd(low, high)
    return builder.extract_element(value, ir.Constant(ir.IntType(32), 0))


def _constant(value):
    return ir.Constant(ir.IntType(64), value)


def _sum(builder, first, *terms):
    """first + terms as 64-bit integers; plain ints among them become constants."""
    for term in terms:
        first = builder.add(first, _constant(term) if isinstance(term, int) else term)
    return first


# ---------------------------------------------------------------- the two tiles
def _forward_tile(rows, vectors):
    """An intrinsic computing one forward tile; as Python, with L lanes a vector:

        sums[r][v] = [bias[row_at + r]] * L                       for r < rows, v < vectors
        for t in range(len(offsets)):
            run = x_at + offsets[t]
            source[v] = x[run + v·L : run + (v + 1)·L]
            for r: sums[r][v] += packed[packed_at + t·rows + r] · source[v]
        out[out_at + r·out_stride + v·L : … + L] = sums[r][v]     for r < valid
    """

    @intrinsic
    def tile(typingctx, x, x_at, offsets, packed, packed_at, bias, row_at, out, out_at, out_stride, valid):
        signature = types.void(x, x_at, offsets, packed, packed_at, bias, row_at, out, out_at, out_stride,
                               valid)

        def codegen(context, builder, sig, args):
            vector = ir.VectorType(context.get_value_type(sig.args[0].dtype), _lanes(sig.args[0].dtype))
            fma = _fma(builder, vector)
            x_, x_at_, offsets_, packed_, packed_at_, bias_, row_at_, out_, out_at_, out_stride_, valid_ = (
                _operands(context, builder, sig, args))
            sums = []
            for r in range(rows):  # start from the bias: the output is written once
                shift = builder.load(builder.gep(bias_, [_sum(builder, row_at_, r)]))
                start = _broadcast(builder, shift, vector)
                sums.append([cgutils.alloca_once_value(builder, start) for _ in range(vectors)])
            with cgutils.for_range(builder, _length(context, builder, sig.args[2], args[2])) as loop:
                t = loop.index
                run = builder.add(x_at_, builder.load(builder.gep(offsets_, [t])))
                sources = [_load_vector(builder, x_, _sum(builder, run, v * vector.count), vector)
                           for v in range(vectors)]
                weights_at = builder.add(packed_at_, builder.mul(t, _constant(rows)))
                for r in range(rows):
                    weight = builder.load(builder.gep(packed_, [_sum(builder, weights_at, r)]))
                    weight = _broadcast(builder, weight, vector)
                    for v in range(vectors):
                        total = builder.call(fma, [weight, sources[v], builder.load(sums[r][v])])
                        builder.store(total, sums[r][v])
            for r in range(rows):
                with builder.if_then(builder.icmp_signed("<", _constant(r), valid_)):
                    row = builder.add(out_at_, builder.mul(_constant(r), out_stride_))
                    for v in range(vectors):
                        at = _sum(builder, row, v * vector.count)
                        _store_vector(builder, builder.load(sums[r][v]), out_, at, vector)
            return context.get_dummy_value()

        return signature, codegen

    return tile


def _gradient_tile(rows, taps):
    """An intrinsic computing one weight-gradient tile; as Python, with L lanes a vector:

        sums[r][s] = [0] * L                                       for r < rows, s < taps
        for line in range(lines):
            for column in range(0, count·L, L):
                grad[r]  = g[g_at + r·g_stride + line·g_step + column : … + L]    (r past valid: the last
                source[s] = x[x_at + offsets[tap_at + s] + line·x_step + column : … + L]   valid row)
                sums[r][s] += grad[r] · source[s]
        out[out_at + r·taps + s] += the sum of sums[r][s]'s lanes
    """

    @intrinsic
    def tile(typingctx, g, g_at, g_stride, valid, x, x_at, offsets, tap_at, count, lines, g_step, x_step,
             out, out_at):
        signature = types.void(g, g_at, g_stride, valid, x, x_at, offsets, tap_at, count, lines, g_step,
                               x_step, out, out_at)

        def codegen(context, builder, sig, args):
            vector = ir.VectorType(context.get_value_type(sig.args[0].dtype), _lanes(sig.args[0].dtype))
            fma = _fma(builder, vector)
            (g_, g_at_, g_stride_, valid_, x_, x_at_, offsets_, tap_at_, count_, lines_, g_step_, x_step_,
             out_, out_at_) = _operands(context, builder, sig, args)
            last = builder.sub(valid_, _constant(1))
            g_rows = []
            for r in range(rows):
                row = builder.select(builder.icmp_signed("<", _constant(r), valid_), _constant(r), last)
                g_rows.append(builder.add(g_at_, builder.mul(row, g_stride_)))
            x_runs = [_sum(builder, x_at_, builder.load(builder.gep(offsets_, [_sum(builder, tap_at_, s)])))
                      for s in range(taps)]
            zero = ir.Constant(vector, None)
            sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(taps)] for _ in range(rows)]
            with cgutils.for_range(builder, lines_) as line:
                g_line = builder.mul(line.index, g_step_)
                x_line = builder.mul(line.index, x_step_)
                with cgutils.for_range(builder, count_) as loop:
                    column = builder.mul(loop.index, _constant(vector.count))
                    grads = [_load_vector(builder, g_, _sum(builder, at, g_line, column), vector)
                             for at in g_rows]
                    sources = [_load_vector(builder, x_, _sum(builder, at, x_line, column), vector)
                               for at in x_runs]
                    for r in range(rows):
                        for s in range(taps):
                            total = builder.call(fma, [grads[r], sources[s], builder.load(sums[r][s])])
                            builder.store(total, sums[r][s])
            for r in range(rows):
                for s in range(taps):
                    address = builder.gep(out_, [_sum(builder, out_at_, r * taps + s)])
                    total = _horizontal_sum(builder, builder.load(sums[r][s]), vector)
                    builder.store(builder.fadd(builder.load(address), total), address)
            return context.get_dummy_value()

        return signature, codegen

    return tile


product_wide = _forward_tile(FORWARD_ROWS, FORWARD_VECTORS)
product_narrow = _forward_tile(FORWARD_ROWS, 1)  # the columns short of a wide tile
gradient = _gradient_tile(GRAD_ROWS, GRAD_TAPS)


# ---------------------------------------------------------------- a product with a packed right operand
@numba.njit(cache=True, nogil=True)
def pack_panels(b):
    """b (k, n) as column panels, each (k, width) contiguous, one after another: panels of a wide tile's
    columns, then of one vector's; the columns short of a vector stay out (:func:`panel_product`
    reads them from b). Packed once, b streams through the product tile in order."""
    k, n = b.shape
    lanes = VECTOR_BYTES // b.itemsize
    wide = FORWARD_VECTORS * lanes
    whole, narrow = n // wide, n % wide // lanes
    data = numpy.empty(k * (whole * wide + narrow * lanes), b.dtype)
    at = 0
    for p in range(whole + narrow):
        first, width = (p * wide, wide) if p < whole else (whole * wide + (p - whole) * lanes, lanes)
        for t in range(k):
            data[at:at + width] = b[t, first:first + width]
            at += width
    return data


@numba.njit(cache=True, nogil=True)
def panel_product(a, a_at, m, k, panels, b, out, out_at, packed, shift):
    """out rows = a rows @ b on one thread: rows a_at … a_at + m − 1 of a (a flat array of rows of k
    values) times b (k, n), given also as ``pack_panels(b)``, into the rows from out_at of out (a flat
    array of rows of n values). ``packed`` (at least ⌈m / FORWARD_ROWS⌉·FORWARD_ROWS·k values) and
    ``shift`` (zeros, at least as many as rows in those blocks) are the caller's scratch."""
    n = b.shape[1]
    rows, lanes = FORWARD_ROWS, VECTOR_BYTES // b.itemsize
    wide = FORWARD_VECTORS * lanes
    whole, narrow = n // wide, n % wide // lanes
    blocks = (m + rows - 1) // rows
    for block in range(blocks):  # a's rows by blocks, each tap's `rows` values side by side
        for r in range(rows):
            i = block * rows + r
            at = block * k * rows + r
            if i < m:
                row = (a_at + i) * k
                for t in range(k):
                    packed[at + t * rows] = a[row + t]
            else:
                for t in range(k):
                    packed[at + t * rows] = 0
    wide_offsets = numpy.arange(k) * wide
    narrow_offsets = numpy.arange(k) * lanes
    for p in range(whole + narrow):  # a panel of b stays in the cache for every block of a's rows
        for block in range(blocks):
            a_block, valid = block * k * rows, m - block * rows
            target = (out_at + block * rows) * n
            if p < whole:
                product_wide(panels, p * k * wide, wide_offsets, packed, a_block, shift, 0, out,
                             target + p * wide, n, valid)
            else:
                q = p - whole
                product_narrow(panels, (whole * wide + q * lanes) * k, narrow_offsets, packed, a_block,
                               shift, 0, out, target + whole * wide + q * lanes, n, valid)
    for i in range(m):  # the columns short of a vector: one at a time
        for j in range(whole * wide + narrow * lanes, n):
            total = out.dtype.type(0)
            for t in range(k):
                total += a[(a_at + i) * k + t] * b[t, j]
            out[(out_at + i) * n + j] = total
