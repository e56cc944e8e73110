r"""GatherConv2D: conv.Conv2D computed in the other order, multiply first and shift after.

The triple sum of a convolution can be done in either order, giving the same y and the
same gradients:

    Conv2D (im2col):   shift, then multiply:   y = W_(o,cij) @ unfold(xp)
                       the temporary cols holds c_in k k rows
    GatherConv2D:      multiply, then shift:   z = W_(oij,c) @ xp,   y = sum_shifted(z)
                       the temporary z holds c_out k k rows

So for a layer with fewer output than input channels (a decoder's: 64 -> 32, and 32 -> 1
logit per pixel) the temporary, and most of the time, is c_in / c_out times smaller.
Same parameters (shape, initialisation, random draws) as Conv2D; the tests hold it equal
to Conv2D and benchmarks/README.md says what it buys.
"""
import numpy as np

from ..conv import Conv2D, _offsets, _pad_channel_first


def sum_shifted(z, stride, h_out, w_out):
    r"""y = sum over the k*k offsets (i, j) of z_ij read at s h + i, s w + j.

    z : ndarray of shape (C_out, kh, kw, N, Hp, Wp), one map per output channel and offset.
    Returns y : ndarray of shape (C_out, N, h_out, w_out),

        y[o, n, h, w] = sum_{i,j} z[o, i, j, n, stride h + i, stride w + j]
    """
    _, kh, kw = z.shape[:3]
    offsets = _offsets(kh, kw, stride, h_out, w_out)
    i, j, rows, columns = offsets[0]
    y = z[:, i, j, :, rows, columns].copy()
    for i, j, rows, columns in offsets[1:]:
        y += z[:, i, j, :, rows, columns]
    return y


def spread_shifted(dy, shape, stride):
    r"""The adjoint of sum_shifted: dy copied into every offset's map at s h + i, s w + j.

    dy : ndarray of shape (C_out, N, h_out, w_out);  shape : (C_out, kh, kw, N, Hp, Wp).
    Returns dz : ndarray of that shape, zero except

        dz[o, i, j, n, stride h + i, stride w + j] = dy[o, n, h, w]
    """
    _, kh, kw = shape[:3]
    dz = np.zeros(shape, dtype=dy.dtype)
    for i, j, rows, columns in _offsets(kh, kw, stride, *dy.shape[2:]):
        dz[:, i, j, :, rows, columns] = dy
    return dz


class GatherConv2D(Conv2D):
    r"""Conv2D (same arguments, parameters and results), multiplying before shifting.

        z = W_(oij,c) @ xp      (c_out k k, C) @ (C, N Hp Wp)
        y = sum_shifted(z) + b
    """

    def forward(self, x):
        """x (N, c_in, H, W) -> y (N, c_out, H_out, W_out). Remembers the padded input."""
        (n, c, h, w), (h_out, w_out) = self._check(x)
        xp = _pad_channel_first(x, self.padding)                          # (C, N, Hp, Wp)
        hp, wp = xp.shape[2:]
        self._x_shape, self._out = x.shape, (h_out, w_out)
        self._xp = np.ascontiguousarray(xp).reshape(c, -1)                # (C, N Hp Wp)
        W = self.params["W"].transpose(0, 2, 3, 1).reshape(-1, c)         # (c_out k k, C)
        z = (W @ self._xp).reshape(self.c_out, self.kh, self.kw, n, hp, wp)
        y = sum_shifted(z, self.stride, h_out, w_out)                     # (c_out, N, Ho, Wo)
        y += self.params["b"][:, None, None, None]
        return y.transpose(1, 0, 2, 3)                                    # NCHW view

    def backward(self, dy, need_dx=True):
        r"""dy (N, c_out, H_out, W_out) -> dx (N, c_in, H, W); fills self.grads.

        db[o] = sum_{n,h,w} dy[n,o,h,w]
        dz = spread_shifted(dy),   dW = dz @ xp^T,   dxp = W^T @ dz, without the padding.
        """
        dy = np.ascontiguousarray(dy.transpose(1, 0, 2, 3))               # (c_out, N, Ho, Wo)
        self.grads["b"][...] = dy.sum(axis=(1, 2, 3))
        p, (n, c, h, w) = self.padding, self._x_shape
        hp, wp = h + 2 * p, w + 2 * p
        dz = spread_shifted(dy, (self.c_out, self.kh, self.kw, n, hp, wp), self.stride)
        dz = dz.reshape(-1, n * hp * wp)                                  # (c_out k k, N Hp Wp)
        dW = dz @ self._xp.T                                              # (c_out k k, C)
        self.grads["W"][...] = dW.reshape(self.c_out, self.kh, self.kw, c).transpose(0, 3, 1, 2)
        if not need_dx:
            return None
        W = self.params["W"].transpose(0, 2, 3, 1).reshape(-1, c)         # (c_out k k, C)
        dxp = (W.T @ dz).reshape(c, n, hp, wp)                            # (C, N, Hp, Wp)
        return dxp[:, :, p:p + h, p:p + w].transpose(1, 0, 2, 3)          # (N, c_in, H, W)
