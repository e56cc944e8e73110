r"""Element-wise activations with their derivatives.

Each has no parameters (empty params and grads) and follows the layer contract of
minivae.layers: forward(x) remembers what backward needs, backward(dy) returns dx.
All shapes are (N, D) -> (N, D).
"""
import numpy as np


def sigmoid(x):
    r"""sigmoid(x) = 1 / (1 + e^(-x)) = (1 + tanh(x / 2)) / 2, same shape as x.

    The tanh form (from tanh(a) = 2 sigmoid(2a) - 1) never overflows: e^(-x) would, for
    x < -88 in float32. minivae's one sigmoid: the Sigmoid layer, the Bernoulli loss's
    gradient and the pictures all use it.
    """
    return 0.5 * (1 + np.tanh(0.5 * x))


class _Activation:
    def __init__(self):
        self.params, self.grads = {}, {}


class ReLU(_Activation):
    r"""y = max(x, 0);   dy/dx = 1 if x > 0 else 0."""

    def forward(self, x):
        y = np.maximum(x, 0)
        self._y = y
        return y

    def backward(self, dy, need_dx=True):
        return dy * (self._y > 0) if need_dx else None


class LeakyReLU(_Activation):
    r"""y = x if x > 0 else alpha x;   dy/dx = 1 if x > 0 else alpha."""

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        self._positive = x > 0
        return np.where(self._positive, x, self.alpha * x)

    def backward(self, dy, need_dx=True):
        return np.where(self._positive, dy, self.alpha * dy) if need_dx else None


class Tanh(_Activation):
    r"""y = tanh(x);   dy/dx = 1 - y^2."""

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy, need_dx=True):
        return dy * (1 - self._y * self._y) if need_dx else None


class Sigmoid(_Activation):
    r"""y = sigmoid(x) = 1 / (1 + exp(-x));   dy/dx = y (1 - y)."""

    def forward(self, x):
        self._y = sigmoid(x)
        return self._y

    def backward(self, dy, need_dx=True):
        return dy * self._y * (1 - self._y) if need_dx else None


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}
