r"""The encoder and decoder networks of both models, built from one description (the config).

Both kinds take and return flat batches, so the models never see the difference:
- "mlp":  Dense layers with activations between them (minivae.layers.mlp).
- "conv": convolutions and max-pooling down, up-sampling and convolutions up
          (minivae.conv's layers); they reshape (N, D) <-> (N, C, H, W) inside.
"""
import numpy as np

from .activations import ACTIVATIONS
from .checks import check_dtype, check_fits, check_positive_int
from .conv import Conv2D, Flatten, MaxPool2D, Reshape, Upsample2D
from .errors import InputError
from .fast.conv import GatherConv2D
from .layers import Dense, Sequential, mlp

ARCHS = ("mlp", "conv")


def network_config(d_in, hidden, latent_dim, activation, dtype, arch, channels, image_shape):
    """The checked description of a model's networks: a JSON-ready dict (it goes into
    checkpoints). Raises InputError for a bad value, before anything is allocated."""
    if arch not in ARCHS:
        raise InputError(f"arch must be one of {ARCHS}; got {arch!r}")
    if activation not in ACTIVATIONS:
        raise InputError(f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}")
    config = {"d_in": check_positive_int(d_in, "d_in"),
              "hidden": [check_positive_int(h, "each hidden size") for h in hidden],
              "latent_dim": check_positive_int(latent_dim, "latent_dim"),
              "activation": activation, "dtype": check_dtype(dtype).name, "arch": arch,
              "channels": [check_positive_int(c, "each conv channel count") for c in channels],
              "image_shape": None if image_shape is None else
                             [check_positive_int(s, "each image_shape entry") for s in image_shape]}
    if arch == "conv":
        _check_conv_shapes(config["image_shape"], config["channels"], config["d_in"])
    return config


def build_networks(config, encoder_out, outputs_per_pixel, rng):
    """(encoder, decoder) for a config from network_config.

    encoder : (N, d_in) -> (N, encoder_out)       (2L for a VAE: mu and log_var; L for an AE)
    decoder : (N, latent_dim) -> (N, outputs_per_pixel * d_in)
    outputs_per_pixel is 1 (logits or means) or 2 (means, then log-variances).
    The decoder's hidden sizes (or channels) mirror the encoder's. Refuses (InputError) a
    model whose parameters, gradients and optimizer state would not fit in memory.
    """
    arch, d, latent, act = config["arch"], config["d_in"], config["latent_dim"], config["activation"]
    dtype, hidden, channels = np.dtype(config["dtype"]), config["hidden"], config["channels"]
    count = parameter_count(config, encoder_out, outputs_per_pixel)
    # params, grads, and the optimizer's m, v and scratch: five arrays per parameter
    check_fits(5 * count * dtype.itemsize,
               f"a model with {count:,} parameters (with gradients and Adam's state)")
    if arch == "mlp":
        return (mlp([d, *hidden, encoder_out], rng, act, dtype),
                mlp([latent, *hidden[::-1], outputs_per_pixel * d], rng, act, dtype))
    c, h, w = config["image_shape"]
    return (conv_encoder((c, h, w), channels, encoder_out, rng, act, dtype),
            conv_decoder(latent, (outputs_per_pixel * c, h, w), channels[::-1], rng, act, dtype))


def parameter_count(config, encoder_out, outputs_per_pixel):
    """How many numbers build_networks(config, encoder_out, outputs_per_pixel, rng) would
    allocate, computed from the sizes alone (nothing is built). An int."""
    d, latent = config["d_in"], config["latent_dim"]
    if config["arch"] == "mlp":
        enc_sizes = [d, *config["hidden"], encoder_out]
        dec_sizes = [latent, *config["hidden"][::-1], outputs_per_pixel * d]
        return sum((a + 1) * b for sizes in (enc_sizes, dec_sizes) for a, b in zip(sizes, sizes[1:]))
    (c, h, w), (c1, c2) = config["image_shape"], config["channels"]
    pixels = (h // 4) * (w // 4)                  # the layout of conv_encoder / conv_decoder
    encoder = 9 * c * c1 + c1 + 9 * c1 * c2 + c2 + (c2 * pixels + 1) * encoder_out
    decoder = (latent + 1) * c2 * pixels + 9 * c2 * c1 + c1 + 9 * c1 * outputs_per_pixel * c + outputs_per_pixel * c
    return encoder + decoder


def joint_params(encoder, decoder):
    """The flat params and grads dicts of a model built from an encoder and a decoder.

    Keys are "encoder.<i>.<name>" and "decoder.<i>.<name>"; the arrays are the layers' own
    (shared memory), so an optimizer stepping params steps the networks.
    """
    parts = (("encoder", encoder), ("decoder", decoder))
    params = {f"{part}.{k}": v for part, net in parts for k, v in net.params.items()}
    grads = {f"{part}.{k}": v for part, net in parts for k, v in net.grads.items()}
    return params, grads


# -- the convolutional networks ---------------------------------------------------------------
def conv_encoder(image_shape, channels, out_dim, rng, activation="relu", dtype=np.float32):
    r"""A conv network mapping flat images (N, C*H*W) -> (N, out_dim).

    Reshape (C, H, W) -> Conv 3x3 pad 1 to channels[0] -> act -> MaxPool 2
    -> Conv 3x3 pad 1 to channels[1] -> act -> MaxPool 2 -> Flatten -> Dense(out_dim).
    H and W must be divisible by 4 (MNIST: 28 -> 14 -> 7; Frey Face 28x20 -> 14x10 -> 7x5).
    """
    c, h, w = image_shape
    c1, c2 = channels
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
    (C_out = 2C for a mean and a log-variance per pixel). Its convolutions shrink the
    channels, so they are fast.conv.GatherConv2D: Conv2D computed in the cheaper order.
    """
    c_out, h, w = out_image_shape
    c1, c2 = channels
    init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    act = ACTIVATIONS[activation]
    return Sequential([
        Dense(latent_dim, c1 * (h // 4) * (w // 4), rng, dtype, init=init), act(),
        Reshape((c1, h // 4, w // 4)),
        Upsample2D(2),                                                       # (N, c1, H/2, W/2)
        GatherConv2D(c1, c2, 3, rng, padding=1, dtype=dtype, init=init), act(),
        Upsample2D(2),                                                       # (N, c2, H, W)
        GatherConv2D(c2, c_out, 3, rng, padding=1, dtype=dtype, init="glorot"),  # logits or means
        Flatten(),
    ])


def _check_conv_shapes(image_shape, channels, d_in):
    if image_shape is None or len(image_shape) != 3 or int(np.prod(image_shape)) != d_in:
        raise InputError(f"arch='conv' needs image_shape=(C, H, W) with C*H*W == d_in == {d_in}; "
                         f"got {image_shape!r}")
    if len(channels) != 2:
        raise InputError(f"the conv networks have two conv layers: channels must be two numbers, "
                         f"e.g. (32, 64); got {channels!r}")
    if image_shape[1] % 4 or image_shape[2] % 4:
        raise InputError(f"the conv networks pool (or up-sample) twice by 2, so image height and "
                         f"width must be divisible by 4; got image_shape {tuple(image_shape)}. "
                         "Pad or crop the images, or use arch='mlp'.")
