r"""Convolutional layers for NCHW images, and the conv encoder and decoder built from them.

    Conv2D           y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n,c, s h + i, s w + j]
    ConvTranspose2D  the adjoint of Conv2D (its forward pass is Conv2D's input gradient)
    MaxPool2D        y = max over each window;  the gradient goes to the (first) arg-max
    Upsample2D       nearest neighbour: each pixel becomes a scale x scale block
    Flatten, Reshape (N, C, H, W) <-> (N, C*H*W), so convolutions plug into flat models

xp is x zero-padded by p pixels on each side, s the stride. Output sizes:

    Conv2D, MaxPool2D   H_out = floor( (H + 2p - k) / s ) + 1
    ConvTranspose2D     H_out = (H - 1) s - 2p + k

How the convolution becomes one big matrix product (im2col). ``unfold`` copies, for each of
the k*k kernel offsets (i, j), the shifted and strided picture xp[:, :, i::s, j::s] into one
row block of a matrix ``cols``:

    cols[(c,i,j), (n,h,w)] = xp[c, n, s h + i, s w + j]          (C k k, N H_out W_out)
    y = W.reshape(C_out, C k k) @ cols                           (C_out, N H_out W_out)

``fold`` (col2im) is the adjoint of unfold: it adds each row block back where it came from,
so the gradient of a pixel that several windows share is the sum of their gradients.
Conv2D can also multiply first and shift afterwards (``sum_shifted``, adjoint
``spread_shifted``), which needs a smaller temporary when a layer has fewer output than
input channels; Conv2D's docstring compares the two. All four helpers loop over the k*k
offsets only: never over pixels or examples. Inside, pictures are held channel-first,
(C, N, H, W), so that the (n, h, w) axes of a picture and of cols line up and the reshapes
are free; the layers take and return NCHW.
"""
import numpy as np

from .activations import ACTIVATIONS
from .layers import Dense, Sequential


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


def sum_shifted(z, stride, h_out, w_out):
    r"""The other way round: y = sum over the k*k offsets (i, j) of z_ij read at s h + i, s w + j.

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
        raise ValueError(f"{name} expects images of shape (N, {c}, H, W); got shape {x.shape}")
    return x.shape


def _geometry(kernel_size, stride, padding):
    """(kh, kw, stride, padding) as checked ints; kernel_size is k or (kh, kw)."""
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    kh, kw, stride, padding = int(kh), int(kw), int(stride), int(padding)
    if min(kh, kw, stride) < 1 or padding < 0:
        raise ValueError(f"need kernel sizes and stride >= 1 and padding >= 0; got kernel_size "
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
        raise ValueError(f"init must be 'he' or 'glorot'; got {init!r}")
    var = 2.0 / fan_in if init == "he" else 2.0 / (fan_in + fan_out)
    return (rng.standard_normal(shape) * np.sqrt(var)).astype(dtype)


# -- convolution ------------------------------------------------------------------------------
class Conv2D:
    r"""2-D convolution (a cross-correlation, as in every deep-learning library).

        y[n,o,h,w] = b[o] + sum_{c,i,j} W[o,c,i,j] xp[n, c, s h + i, s w + j]

    W : ndarray of shape (c_out, c_in, kh, kw), b : ndarray of shape (c_out,)
    x : (N, c_in, H, W)  ->  y : (N, c_out, H_out, W_out),  H_out = (H + 2p - kh) // s + 1

    The triple sum can be done in either order; both give the same y and the same gradients:

    - method="unfold" (im2col): shift first, then multiply.
          y = W_(o,cij) @ unfold(xp)          the matrix cols holds c_in k k rows
    - method="gather": multiply first, then shift.
          z = W_(oij,c) @ xp,   y = sum_shifted(z)    the matrix z holds c_out k k rows

    The big temporary matrix (and most of the time) scales with c_in for "unfold" and with
    c_out for "gather", so the default, method=None, picks whichever is smaller for the
    input at hand: "gather" for layers that reduce the channels (a decoder's last layer,
    many channels -> 1, needs a 32x smaller temporary).
    """

    METHODS = ("unfold", "gather")

    def __init__(self, c_in, c_out, kernel_size, rng, stride=1, padding=0, dtype=np.float32,
                 init="he", method=None):
        self.c_in, self.c_out = int(c_in), int(c_out)
        self.kh, self.kw, self.stride, self.padding = _geometry(kernel_size, stride, padding)
        if method not in (None, *self.METHODS):
            raise ValueError(f"method must be None (choose by size) or one of {self.METHODS}; "
                             f"got {method!r}")
        self.method = method
        fan_in, fan_out = self.c_in * self.kh * self.kw, self.c_out * self.kh * self.kw
        shape = (self.c_out, self.c_in, self.kh, self.kw)
        self.params = {"W": conv_init(rng, shape, fan_in, fan_out, init, dtype),
                       "b": np.zeros(self.c_out, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def output_shape(self, h, w):
        """(H_out, W_out) for an input of H x W pixels."""
        p, s = self.padding, self.stride
        return (h + 2 * p - self.kh) // s + 1, (w + 2 * p - self.kw) // s + 1

    def forward(self, x):
        """x (N, c_in, H, W) -> y (N, c_out, H_out, W_out). Remembers the (unfolded) input."""
        n, c, h, w = _check_images(x, self.c_in, "Conv2D")
        h_out, w_out = self.output_shape(h, w)
        if h_out < 1 or w_out < 1:
            raise ValueError(f"Conv2D: a {self.kh}x{self.kw} kernel with padding {self.padding} "
                             f"does not fit a {h}x{w} input")
        xp = _pad_channel_first(x, self.padding)                          # (C, N, Hp, Wp)
        hp, wp = xp.shape[2:]
        self._x_shape, self._out = x.shape, (h_out, w_out)
        self._method = self.method or ("unfold" if c * h_out * w_out <= self.c_out * hp * wp
                                       else "gather")
        if self._method == "unfold":
            self._cols = unfold(xp, self.kh, self.kw, self.stride, h_out, w_out)  # (C k k, N Ho Wo)
            W = self.params["W"].reshape(self.c_out, -1)                  # (c_out, C k k)
            y = W @ self._cols                                            # (c_out, N Ho Wo)
            y = y.reshape(self.c_out, n, h_out, w_out)
        else:
            self._xp = np.ascontiguousarray(xp).reshape(c, -1)            # (C, N Hp Wp)
            W = self.params["W"].transpose(0, 2, 3, 1).reshape(-1, c)     # (c_out k k, C)
            z = W @ self._xp                                              # (c_out k k, N Hp Wp)
            y = sum_shifted(z.reshape(self.c_out, self.kh, self.kw, n, hp, wp), self.stride,
                            h_out, w_out)                                 # (c_out, N, Ho, Wo)
        y += self.params["b"][:, None, None, None]
        return y.transpose(1, 0, 2, 3)                                    # NCHW view

    def backward(self, dy, need_dx=True):
        r"""dy (N, c_out, H_out, W_out) -> dx (N, c_in, H, W); fills self.grads.

        db[o] = sum_{n,h,w} dy[n,o,h,w]
        "unfold":  dW = dy @ cols^T,   dcols = W^T @ dy,   dxp = fold(dcols)
        "gather":  dz = spread_shifted(dy),   dW = dz @ xp^T,   dxp = W^T @ dz
        and dx is dxp without the padding.
        """
        dy = np.ascontiguousarray(dy.transpose(1, 0, 2, 3))               # (c_out, N, Ho, Wo)
        np.sum(dy, axis=(1, 2, 3), out=self.grads["b"])
        p, (n, c, h, w) = self.padding, self._x_shape
        hp, wp = h + 2 * p, w + 2 * p
        if self._method == "unfold":
            dy = dy.reshape(self.c_out, -1)                               # (c_out, N Ho Wo)
            np.matmul(dy, self._cols.T, out=self.grads["W"].reshape(self.c_out, -1))
            if not need_dx:
                return None
            dcols = self.params["W"].reshape(self.c_out, -1).T @ dy       # (C k k, N Ho Wo)
            dxp = fold(dcols, (c, n, hp, wp), self.kh, self.kw, self.stride, *self._out)
        else:
            dz = spread_shifted(dy, (self.c_out, self.kh, self.kw, n, hp, wp), self.stride)
            dz = dz.reshape(-1, n * hp * wp)                              # (c_out k k, N Hp Wp)
            dW = dz @ self._xp.T                                          # (c_out k k, C)
            self.grads["W"][...] = dW.reshape(self.c_out, self.kh, self.kw, c).transpose(0, 3, 1, 2)
            if not need_dx:
                return None
            W = self.params["W"].transpose(0, 2, 3, 1).reshape(-1, c)     # (c_out k k, C)
            dxp = (W.T @ dz).reshape(c, n, hp, wp)                        # (C, N, Hp, Wp)
        return dxp[:, :, p:p + h, p:p + w].transpose(1, 0, 2, 3)          # (N, c_in, H, W)


class ConvTranspose2D:
    r"""Transposed convolution: the adjoint of Conv2D, used to up-sample with learned weights.

    Every input pixel paints a kh x kw patch of the output, weighted by W, and patches that
    overlap add up (they overlap when stride < k):

        yp[n, o, s h + i, s w + j] += sum_c x[n,c,h,w] W[c,o,i,j],    y = yp cropped by p,  + b[o]

    It is exactly Conv2D's input gradient: with the same W (shape (c_in, c_out, kh, kw), as in
    PyTorch, i.e. a Conv2D from c_out to c_in channels), <conv(u), v> == <u, conv_transpose(v)>.

    W : ndarray of shape (c_in, c_out, kh, kw), b : ndarray of shape (c_out,)
    x : (N, c_in, H, W)  ->  y : (N, c_out, H_out, W_out),  H_out = (H - 1) s - 2p + kh
    """

    def __init__(self, c_in, c_out, kernel_size, rng, stride=1, padding=0, dtype=np.float32,
                 init="he"):
        self.c_in, self.c_out = int(c_in), int(c_out)
        self.kh, self.kw, self.stride, self.padding = _geometry(kernel_size, stride, padding)
        # each output pixel sees about c_in kh kw / s^2 inputs
        fan_in = max(self.c_in * self.kh * self.kw / self.stride ** 2, 1.0)
        fan_out = self.c_out * self.kh * self.kw
        shape = (self.c_in, self.c_out, self.kh, self.kw)                 # as in PyTorch
        self.params = {"W": conv_init(rng, shape, fan_in, fan_out, init, dtype),
                       "b": np.zeros(self.c_out, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def output_shape(self, h, w):
        """(H_out, W_out) for an input of H x W pixels."""
        p, s = self.padding, self.stride
        return (h - 1) * s - 2 * p + self.kh, (w - 1) * s - 2 * p + self.kw

    def forward(self, x):
        """x (N, c_in, H, W) -> y (N, c_out, H_out, W_out). Remembers x."""
        n, c, h, w = _check_images(x, self.c_in, "ConvTranspose2D")
        h_out, w_out = self.output_shape(h, w)
        if h_out < 1 or w_out < 1:
            raise ValueError(f"ConvTranspose2D: padding {self.padding} crops a {h}x{w} input "
                             "to nothing")
        p = self.padding
        self._in = (h, w)
        self._x = x.transpose(1, 0, 2, 3).reshape(c, -1)                  # (c_in, N H W)
        W = self.params["W"].reshape(self.c_in, -1)                       # (c_in, c_out k k)
        cols = W.T @ self._x                                              # (c_out k k, N H W)
        yp_shape = (self.c_out, n, h_out + 2 * p, w_out + 2 * p)
        yp = fold(cols, yp_shape, self.kh, self.kw, self.stride, h, w)    # (c_out, N, Hp, Wp)
        y = yp[:, :, p:p + h_out, p:p + w_out]
        y += self.params["b"][:, None, None, None]
        return y.transpose(1, 0, 2, 3)                                    # NCHW view

    def backward(self, dy, need_dx=True):
        r"""dy (N, c_out, H_out, W_out) -> dx (N, c_in, H, W); fills self.grads.

        dcols = unfold(dy padded by p)   (c_out k k, N H W): what each painted patch received
        dW    = x @ dcols^T              (c_in, N H W) @ (N H W, c_out k k)
        db[o] = sum_{n,h,w} dy[n,o,h,w]
        dx    = W @ dcols                a Conv2D of dy
        """
        n = dy.shape[0]
        dyp = _pad_channel_first(dy, self.padding)                        # (c_out, N, Hp, Wp)
        dcols = unfold(dyp, self.kh, self.kw, self.stride, *self._in)     # (c_out k k, N H W)
        np.matmul(self._x, dcols.T, out=self.grads["W"].reshape(self.c_in, -1))
        np.sum(dy, axis=(0, 2, 3), out=self.grads["b"])
        if not need_dx:
            return None
        dx = self.params["W"].reshape(self.c_in, -1) @ dcols              # (c_in, N H W)
        return dx.reshape(self.c_in, n, *self._in).transpose(1, 0, 2, 3)


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
            raise ValueError(f"need size >= 1 and stride >= 1; got {size}, {stride}")
        self.params, self.grads = {}, {}

    def forward(self, x):
        """x (N, C, H, W) -> y (N, C, H_out, W_out). Remembers which offset won each window."""
        if x.ndim != 4 or x.shape[2] < self.size or x.shape[3] < self.size:
            raise ValueError(f"MaxPool2D({self.size}) expects images (N, C, H, W) at least "
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
            # index only grows, so "argmax = index where better" is a max (and needs no branch)
            np.maximum(argmax, better * argmax.dtype.type(index), out=argmax)
            np.maximum(y, cols[:, index], out=y)
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
            raise ValueError(f"scale must be >= 1; got {scale}")
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
            raise ValueError(f"Reshape{self.shape} expects (N, {int(np.prod(self.shape))}); "
                             f"got shape {x.shape}")
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, dy, need_dx=True):
        """dy (N, *shape) -> dx (N, D)."""
        return dy.reshape(dy.shape[0], -1) if need_dx else None


# -- the networks used by arch="conv" ---------------------------------------------------------
def _check_conv_net(image_shape, channels, activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    if len(channels) != 2:
        raise ValueError(f"the conv networks have two conv layers: channels must be two numbers, "
                         f"e.g. (32, 64); got {channels!r}")
    c, h, w = (int(s) for s in image_shape)
    if h % 4 or w % 4:
        raise ValueError(f"the conv networks pool (or up-sample) twice by 2, so image height and "
                         f"width must be divisible by 4; got image_shape {tuple(image_shape)}. "
                         "Pad or crop the images, or use arch='mlp'.")
    return c, h, w


def conv_encoder(image_shape, channels, out_dim, rng, activation="relu", dtype=np.float32):
    r"""A conv network mapping flat images (N, C*H*W) -> (N, out_dim).

    Reshape (C, H, W) -> Conv 3x3 pad 1 to channels[0] -> act -> MaxPool 2
    -> Conv 3x3 pad 1 to channels[1] -> act -> MaxPool 2 -> Flatten -> Dense(out_dim).
    H and W must be divisible by 4 (MNIST: 28 -> 14 -> 7; Frey Face 28x20 -> 14x10 -> 7x5).
    """
    c, h, w = _check_conv_net(image_shape, channels, activation)
    c1, c2 = (int(ch) for ch in channels)
    init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    act = ACTIVATIONS[activation]
    return Sequential([
        Reshape((c, h, w)),
        Conv2D(c, c1, 3, rng, padding=1, dtype=dtype, init=init), act(),     # (N, c1, H, W)
        MaxPool2D(2),                                                        # (N, c1, H/2, W/2)
        Conv2D(c1, c2, 3, rng, padding=1, dtype=dtype, init=init), act(),
        MaxPool2D(2),                                                        # (N, c2, H/4, W/4)
        Flatten(),
        Dense(c2 * (h // 4) * (w // 4), out_dim, rng, dtype, init="glorot"),  # linear output
    ])


def conv_decoder(latent_dim, out_image_shape, channels, rng, activation="relu", dtype=np.float32):
    r"""A conv network mapping codes (N, latent_dim) -> flat images (N, C_out*H*W), linear output.

    Dense -> act -> Reshape (channels[0], H/4, W/4) -> Upsample 2 -> Conv 3x3 pad 1 to
    channels[1] -> act -> Upsample 2 -> Conv 3x3 pad 1 to C_out -> Flatten.
    channels are the encoder's, reversed (e.g. (64, 32)); the output is logits or means
    (C_out = 2C for a mean and a log-variance per pixel).
    """
    c_out, h, w = _check_conv_net(out_image_shape, channels, activation)
    c1, c2 = (int(ch) for ch in channels)
    init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    act = ACTIVATIONS[activation]
    return Sequential([
        Dense(latent_dim, c1 * (h // 4) * (w // 4), rng, dtype, init=init), act(),
        Reshape((c1, h // 4, w // 4)),
        Upsample2D(2),                                                       # (N, c1, H/2, W/2)
        Conv2D(c1, c2, 3, rng, padding=1, dtype=dtype, init=init), act(),
        Upsample2D(2),                                                       # (N, c2, H, W)
        Conv2D(c2, c_out, 3, rng, padding=1, dtype=dtype, init="glorot"),    # logits or means
        Flatten(),
    ])
