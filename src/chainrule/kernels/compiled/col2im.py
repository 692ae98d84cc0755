"""col2im in one pass: a chunk's columns added into the image, every kernel tap in one loop.

:func:`chainrule.kernels.conv.input_grad` multiplies a chunk of output rows into columns
(C, kh, kw, rows, OW, N) and adds each tap's block into the unpadded image (C, H, W, N), batch
innermost. In NumPy that is kh·kw strided adds, each a pass over the chunk's part of the image; here
one loop per channel adds every tap while that channel's rows are in the L1 cache, the innermost
loop over the N contiguous values of one pixel. Taps that land in the padding are skipped, as the
NumPy form clips them. Tested equal to it (tests/kernels/test_conv_chunked.py).
"""

import numba


@numba.njit(cache=True, nogil=True)
def add_columns(blocks, image, first_row, stride, dilation, padding):
    """image[c, y, x, :] += blocks[c, p, q, i, j, :] for y = (first_row + i)·sh + p·dh − top and
    x = j·sw + q·dw − left inside the image; blocks (C, kh, kw, rows, OW, N), image (C, H, W, N)."""
    c_size, kh, kw, rows, out_w, n = blocks.shape
    height, width = image.shape[1], image.shape[2]
    (sh, sw), (dh, dw), (top, left) = stride, dilation, padding
    for c in range(c_size):
        for p in range(kh):
            for i in range(rows):
                y = (first_row + i) * sh + p * dh - top
                if y < 0 or y >= height:
                    continue
                for q in range(kw):
                    for j in range(out_w):
                        x = j * sw + q * dw - left
                        if x < 0 or x >= width:
                            continue
                        for k in range(n):
                            image[c, y, x, k] += blocks[c, p, q, i, j, k]
