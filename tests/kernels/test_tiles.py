"""The register tiles' product with a packed right operand (kernels/compiled/tiles.py) against NumPy."""

import numpy as np
import pytest

pytest.importorskip("numba")

from chainrule.kernels.compiled import tiles  # noqa: E402


@pytest.mark.parametrize("m, k, n", [(32, 256, 1024), (64, 1024, 256), (5, 7, 13), (9, 3, 40), (17, 33, 100),
                                     (1, 1, 1), (8, 2, 48)])
def test_panel_product_equals_numpys_product_between_rows_it_leaves_alone(m, k, n):
    """Rows of a taken from an offset, written at an offset; wide panels, one-vector panels and the
    columns short of a vector all computed; the rows around the target untouched."""
    rng = np.random.default_rng(m * n + k)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    source = np.vstack([np.full((2, k), np.nan, np.float32), a])  # two rows before a's that it must not read
    out = np.full((m + 3, n), np.nan, np.float32)
    rows = tiles.FORWARD_ROWS
    packed = np.empty(-(-m // rows) * rows * k, np.float32)
    shift = np.zeros(rows, np.float32)
    panels = tiles.pack_panels(b)
    tiles.panel_product(source.reshape(-1), 2, m, k, panels, b, out.reshape(-1), 1, packed, shift)
    np.testing.assert_allclose(out[1:m + 1], a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5 * np.sqrt(k))
    assert np.isnan(out[0]).all() and np.isnan(out[m + 1:]).all()


def test_packed_panels_hold_every_whole_vector_of_columns_once():
    lanes = tiles.VECTOR_BYTES // 4
    wide = tiles.FORWARD_VECTORS * lanes
    k, n = 3, 2 * wide + lanes + lanes // 2  # two wide panels, one narrow, half a vector left over
    b = np.arange(k * n, dtype=np.float32).reshape(k, n)
    panels = tiles.pack_panels(b)
    assert panels.size == k * (2 * wide + lanes)
    np.testing.assert_array_equal(panels[:k * wide].reshape(k, wide), b[:, :wide])
    np.testing.assert_array_equal(panels[2 * k * wide:].reshape(k, lanes), b[:, 2 * wide:2 * wide + lanes])
