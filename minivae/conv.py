r"""Convolutional layers for NCHW images.

    Conv2D           y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n,c, s h + i, s w + j]
    MaxPool2D        y = max over each window;  the gradient goes to the (first) arg-max
    Upsample2D       nearest neighbour: each pixel becomes a scale x scale block
    Flatten, Reshape (N, C, H, W) <-> (N, C*H*W), so convolutions plug into flat models

xp is x zero-padded by p pixels on each side, s the stride. Output size of Conv2D and
MaxPool2D:  H_out = floor( (H + 2p - k) / s ) + 1.  ``conv2d_loops`` is the definition
written as loops: slow, and the reference the tests hold Conv2D to.

How the convolution becomes one big matrix product (im2col). ``unfold`` copies, for each of
the k*k kernel offsets (i, j), the shifted and strided picture xp[:, :, i::s, j::s] into one
row block of a matrix ``cols``:

    cols[(c,i,j), (n,h,w)] = xp[c, n, s h + i, s w + j]          (C k k, N H_out W_out)
    y = W.reshape(C_out, C k k) @ cols                           (C_out, N H_out W_out)

``fold`` (col2im) is the adjoint of unfold: it adds each row block back where it came from,
so the gradient of a pixel that several windows share is the sum of their gradients. Both
loop over the k*k offsets only: never over pixels or examples. Inside, pictures are held
channel-first, (C, N, H, W), so that the (n, h, w) axes of a picture and of cols line up and
the reshapes are free; the layers take and return NCHW. (fast.conv.GatherConv2D computes the
same layer in the other order, multiplying first; the conv decoder uses it.)
"""
import numpy as np

from .errors import InputError
from .layers import draw


# -- im2col and its adjoint -------------------------------------------------------------------
def _offsets(kh, kw, stride, h_out, w_out):
    """For each kernel offset (i, j): i, j and the slices picking xp[..., s h + i, s w + j]."""
    return [(i, j, slice(i, i + stride * h_out, stride), slice(j, j + stride * w_out, stride))
            for i in range(kh) for j in range(kw)]


def unfold(xp, kh, kw, stride, h_out, w_out):
    r"""im2col: every kh x kw window of xp as one column.

    xp : ndarray of shape (C, N, Hp, Wp), channel-first, already padded.
    Returns cols : ndarray of shape (C * kh * kw, N * h_out * w_out),

        cols[(c,i,j), (n,h,w)] = xp[c, n, stride h + i, stride w + j]
    """
    c, n = xp.shape[:2]
    cols = np.empty((c, kh, kw, n, h_out, w_out), dtype=xp.dtype)
    for i, j, rows, columns in _offsets(kh, kw, stride, h_out, w_out):
        cols[:, i, j] = xp[:, :, rows, columns]          # (C, N, h_out, w_out), one copy per offset
    return cols.reshape(c * kh * kw, n * h_out * w_out)


def fold(cols, shape, kh, kw, stride, h_out, w_out):
    r"""col2im, the adjoint of unfold: add every column back onto the window it came from.

    cols : ndarray of shape (C * kh * kw, N * h_out * w_out)
    shape : (C, N, Hp, Wp), the shape of the padded picture.
    Returns xp : ndarray of that shape,

        xp[c, n, y, x] = sum over (i, j, h, w) with stride h + i = y, stride w + j = x
                         of cols[(c,i,j), (n,h,w)]

    so that <unfold(a), cols> == <a, fold(cols)> for every a.
    """
    c, n = shape[:2]
    cols = cols.reshape(c, kh, kw, n, h_out, w_out)
    xp = np.zeros(shape, dtype=cols.dtype)
    for i, j, rows, columns in _offsets(kh, kw, stride, h_out, w_out):
        xp[:, :, rows, columns] += cols[:, i, j]         # overlapping windows add up
    return xp


def _pad_channel_first(x, p):
    """x (N, C, H, W) -> xp (C, N, H + 2p, W + 2p), transposed and zero-padded (a view if p = 0)."""
    n, c, h, w = x.shape
    if p == 0:
        return x.transpose(1, 0, 2, 3)                   # a view; unfold copies it anyway
    xp = np.zeros((c, n, h + 2 * p, w + 2 * p), dtype=x.dtype)
    xp[:, :, p:p + h, p:p + w] = x.transpose(1, 0, 2, 3)
    return xp


def _check_images(x, c, name):
    if x.ndim != 4 or x.shape[1] != c:
        raise InputError(f"{name} expects images of shape (N, {c}, H, W); got shape {x.shape}")
    return x.shape


def _geometry(kernel_size, stride, padding):
    """(kh, kw, stride, padding) as checked ints; kernel_size is k or (kh, kw)."""
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    kh, kw, stride, padding = int(kh), int(kw), int(stride), int(padding)
    if min(kh, kw, stride) < 1 or padding < 0:
        raise InputError(f"need kernel sizes and stride >= 1 and padding >= 0; got kernel_size "
                         f"{kernel_size}, stride {stride}, padding {padding}")
    return kh, kw, stride, padding


def conv_init(rng, shape, fan_in, fan_out, init="he", dtype=np.float32):
    r"""Weights for a convolution: He (before ReLUs) or Glorot (before anything else).

    fan_in, fan_out count the weights feeding one output and fed by one input:
    c_in k_h k_w and c_out k_h k_w for Conv2D.

        he:      W ~ N(0, 2 / fan_in)
        glorot:  W ~ N(0, 2 / (fan_in + fan_out))
    """
    if init not in ("he", "glorot"):
        raise InputError(f"init must be 'he' or 'glorot'; got {init!r}")
    var = 2.0 / fan_in if init == "he" else 2.0 / (fan_in + fan_out)
    return draw(rng.standard_normal, shape, dtype, scale=np.sqrt(var))


# -- convolution ------------------------------------------------------------------------------
def conv2d_loops(x, W, b, stride=1, padding=0):
    r"""The definition of Conv2D's forward pass as plain loops (slow; the tests' reference).

    x : (N, C, H, W),  W : (C_out, C, kh, kw),  b : (C_out,)  ->  y : (N, C_out, H_out, W_out)
        y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n, c, s h + i, s w + j]
    """
    n, _, h, w = x.shape
    c_out, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    y = np.zeros((n, c_out, h_out, w_out), dtype=np.result_type(x, W))
    for e in range(n):
        for o in range(c_out):
            for r in range(h_out):
                for t in range(w_out):
                    window = xp[e, :, r * stride:r * stride + kh, t * stride:t * stride + kw]
                    y[e, o, r, t] = b[o] + np.sum(W[o] * window)
    return y


class Conv2D:
    r"""2-D convolution (a cross-correlation, as in every deep-learning library), by im2col.

        y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n, c, s h + i, s w + j]
                   = ( W_(o,cij) @ unfold(xp) )[o, (n,h,w)] + b[o]

    W : ndarray of shape (c_out, c_in, kh, kw), b : ndarray of shape (c_out,)
    x : (N, c_in, H, W)  ->  y : (N, c_out, H_out, W_out),  H_out = (H + 2p - kh) // s + 1
    """

    def __init__(self, c_in, c_out, kernel_size, rng, stride=1, padding=0, dtype=np.float32,
                 init="he"):
        self.c_in, self.c_out = int(c_in), int(c_out)
        self.kh, self.kw, self.stride, self.padding = _geometry(kernel_size, stride, padding)
        fan_in, fan_out = self.c_in * self.kh * self.kw, self.c_out * self.kh * self.kw
        shape = (self.c_out, self.c_in, self.kh, self.kw)
        self.params = {"W": conv_init(rng, shape, fan_in, fan_out, init, dtype),
                       "b": np.zeros(self.c_out, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def output_shape(self, h, w):
        """(H_out, W_out) for an input of H x W pixels."""
        p, s = self.padding, self.stride
        return (h + 2 * p - self.kh) // s + 1, (w + 2 * p - self.kw) // s + 1

    def _check(self, x):
        """The input's (N, C, H, W) and output's (H_out, W_out), or InputError."""
        n, c, h, w = _check_images(x, self.c_in, type(self).__name__)
        h_out, w_out = self.output_shape(h, w)
        if h_out < 1 or w_out < 1:
            raise InputError(f"{type(self).__name__}: a {self.kh}x{self.kw} kernel with padding "
                             f"{self.padding} does not fit a {h}x{w} input")
        return (n, c, h, w), (h_out, w_out)

    def forward(self, x):
        """x (N, c_in, H, W) -> y (N, c_out, H_out, W_out). Remembers the unfolded input."""
        (n, c, h, w), (h_out, w_out) = self._check(x)
        xp = _pad_channel_first(x, self.padding)                          # (C, N, Hp, Wp)
        self._x_shape, self._out = x.shape, (h_out, w_out)
        self._cols = unfold(xp, self.kh, self.kw, self.stride, h_out, w_out)  # (C k k, N Ho Wo)
        W = self.params["W"].reshape(self.c_out, -1)                      # (c_out, C k k)
        y = W @ self._cols                                                # (c_out, N Ho Wo)
        y = y.reshape(self.c_out, n, h_out, w_out)
        y += self.params["b"][:, None, None, None]
        return y.transpose(1, 0, 2, 3)                                    # NCHW view

    def backward(self, dy, need_dx=True):
        r"""dy (N, c_out, H_out, W_out) -> dx (N, c_in, H, W); fills self.grads.

        db[o] = sum_{n,h,w} dy[n,o,h,w]
        dW    = dy @ cols^T        (c_out, N Ho Wo) @ (N Ho Wo, C k k)
        dcols = W^T @ dy,   dxp = fold(dcols),   and dx is dxp without the padding.
        """
        dy = dy.transpose(1, 0, 2, 3).reshape(self.c_out, -1)             # (c_out, N Ho Wo)
        self.grads["b"][...] = dy.sum(axis=1)
        self.grads["W"][...] = (dy @ self._cols.T).reshape(self.grads["W"].shape)
        if not need_dx:
            return None
        p, (n, c, h, w) = self.padding, self._x_shape
        dcols = self.params["W"].reshape(self.c_out, -1).T @ dy           # (C k k, N Ho Wo)
        dxp = fold(dcols, (c, n, h + 2 * p, w + 2 * p), self.kh, self.kw, self.stride, *self._out)
        return dxp[:, :, p:p + h, p:p + w].transpose(1, 0, 2, 3)          # (N, c_in, H, W)


# -- pooling and up-sampling ------------------------------------------------------------------
class MaxPool2D:
    r"""Max pooling over size x size windows, stride pixels apart (stride defaults to size).

        y[n,c,h,w] = max_{i,j} x[n, c, s h + i, s w + j]
        dx[n, c, s h + i*, s w + j*] += dy[n,c,h,w]       at the arg-max (i*, j*) only

    It is im2col again: unfold puts the k*k values of each window in one column, the max
    runs down the column, and backward folds a column that is dy at the arg-max and 0
    elsewhere back onto the window (overlapping windows add up).
    With ties the whole gradient goes to ONE position: the first in row-major order within
    the window, as in PyTorch. (Any split among the tied positions is a subgradient too;
    this one is deterministic and keeps the gradient of each window in one place.)
    x : (N, C, H, W) -> y : (N, C, H_out, W_out),  H_out = (H - size) // stride + 1
    """

    def __init__(self, size=2, stride=None):
        self.size = int(size)
        self.stride = self.size if stride is None else int(stride)
        if self.size < 1 or self.stride < 1:
            raise InputError(f"need size >= 1 and stride >= 1; got {size}, {stride}")
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, C, H, W) -> y (N, C, H_out, W_out). Remembers which offset won each window."""
        if x.ndim != 4 or x.shape[2] < self.size or x.shape[3] < self.size:
            raise InputError(f"MaxPool2D({self.size}) expects images (N, C, H, W) at least "
                             f"{self.size}x{self.size}; got shape {x.shape}")
        k, s = self.size, self.stride
        n, c, h, w = x.shape
        h_out, w_out = (h - k) // s + 1, (w - k) // s + 1
        self._x_shape, self._out = x.shape, (h_out, w_out)
        cols = unfold(x.transpose(1, 0, 2, 3), k, k, s, h_out, w_out)      # (C k k, N Ho Wo)
        cols = cols.reshape(c, k * k, -1)                 # offsets (i, j) in row-major order
        y = cols[:, 0].copy()                             # (C, N Ho Wo)
        argmax = np.zeros(y.shape, dtype=np.uint8 if k * k < 256 else np.intp)
        for index in range(1, k * k):
            better = cols[:, index] > y                   # strict: the first maximum stays
            # argmax[better] = index, written as a max (index only grows): the same result,
            # without boolean indexing, which made the whole forward pass 2x slower
            np.maximum(argmax, better * argmax.dtype.type(index), out=argmax)
            np.maximum(y, cols[:, index], out=y)          # y = max(y, this offset's value)
        self._argmax = argmax                             # (C, N Ho Wo)
        return y.reshape(c, n, h_out, w_out).transpose(1, 0, 2, 3)        # NCHW view

    def backward(self, dy, need_dx=True):
        """dy (N, C, H_out, W_out) -> dx (N, C, H, W): dy routed to each window's arg-max."""
        if not need_dx:
            return None
        k, s = self.size, self.stride
        n, c, h, w = self._x_shape
        dy = dy.transpose(1, 0, 2, 3).reshape(c, 1, -1)                   # (C, 1, N Ho Wo)
        offsets = np.arange(k * k, dtype=self._argmax.dtype)[:, None]      # (k k, 1)
        dcols = dy * (self._argmax[:, None] == offsets)                    # (C, k k, N Ho Wo)
        dx = fold(dcols, (c, n, h, w), k, k, s, *self._out)             # (C, N, H, W)
        return dx.transpose(1, 0, 2, 3)                                    # NCHW view


class Upsample2D:
    r"""Nearest-neighbour up-sampling: every pixel becomes a scale x scale block.

        y[n, c, scale h + i, scale w + j] = x[n,c,h,w]              0 <= i, j < scale
        dx[n,c,h,w] = sum_{i,j} dy[n, c, scale h + i, scale w + j]  (the block's total)

    x : (N, C, H, W) -> y : (N, C, scale H, scale W)
    """

    def __init__(self, scale=2):
        self.scale = int(scale)
        if self.scale < 1:
            raise InputError(f"scale must be >= 1; got {scale}")
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, C, H, W) -> y (N, C, scale H, scale W)."""
        n, c, h, w = x.shape
        s = self.scale
        y = np.empty((n, c, h * s, w * s), dtype=x.dtype)
        for _, _, rows, columns in _offsets(s, s, s, h, w):
            y[:, :, rows, columns] = x                        # one of the s*s copies
        return y

    def backward(self, dy, need_dx=True):
        """dy (N, C, scale H, scale W) -> dx (N, C, H, W)."""
        if not need_dx:
            return None
        s = self.scale
        offsets = _offsets(s, s, s, dy.shape[2] // s, dy.shape[3] // s)
        _, _, rows, columns = offsets[0]
        dx = dy[:, :, rows, columns].copy()                   # offset (0, 0) of every block
        for _, _, rows, columns in offsets[1:]:
            dx += dy[:, :, rows, columns]
        return dx


# -- shapes -----------------------------------------------------------------------------------
class Flatten:
    """(N, C, H, W) -> (N, C*H*W), row-major (the order of x.reshape(N, -1))."""

    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, C, H, W) -> y (N, C*H*W). Remembers the shape."""
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy, need_dx=True):
        """dy (N, C*H*W) -> dx (N, C, H, W): the same numbers, put back in place."""
        return dy.reshape(self._shape) if need_dx else None


class Reshape:
    """(N, D) -> (N, *shape), D == prod(shape); e.g. flat MNIST (N, 784) -> (N, 1, 28, 28)."""

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, D) -> y (N, *shape)."""
        if x.ndim != 2 or x.shape[1] != int(np.prod(self.shape)):
            raise InputError(f"Reshape{self.shape} expects (N, {int(np.prod(self.shape))}); "
                             f"got shape {x.shape}")
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, dy, need_dx=True):
        """dy (N, *shape) -> dx (N, D)."""
        return dy.reshape(dy.shape[0], -1) if need_dx else None
