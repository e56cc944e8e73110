r"""Checkpoints: one .npz file a plain ``numpy.load(path, allow_pickle=False)`` can read.

Layout:  "config"          a JSON string: everything needed to rebuild the model
         "history"         a JSON string: the per-epoch loss parts of the run (may be "{}")
         "param/<name>"    one array per entry of model.params, e.g. "param/encoder.0.W"

Saving is atomic: the file is written under a temporary name in the same folder and then
renamed over the target, so a crash mid-write never leaves a half-written checkpoint in
place of a good one.
"""
import json
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .autoencoder import Autoencoder
from .errors import CheckpointError
from .hierarchical import HierarchicalVAE
from .vae import VAE

FORMAT = "minivae-checkpoint-1"
MODELS = {"vae": VAE, "ae": Autoencoder, "hvae": HierarchicalVAE}


def build_model(config):
    """Rebuild an (untrained) model from its config dict."""
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in MODELS:
        raise CheckpointError(f"unknown model kind {kind!r} in checkpoint config; expected one of {sorted(MODELS)}")
    config["dtype"] = np.dtype(config.get("dtype", "float32"))
    return MODELS[kind](**config)


def save(path, model, history=None):
    """Write model (params and config) and history to path (.npz), atomically."""
    arrays = {"format": np.array(FORMAT), "config": np.array(json.dumps(model.config)),
              "history": np.array(json.dumps(history or {}))}
    arrays.update({f"param/{k}": v for k, v in model.params.items()})
    with atomic_file(path) as f:
        np.savez(f, **arrays)


def load(path):
    """Read a checkpoint: returns (model, history). Raises CheckpointError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train one with `python -m minivae train --out DIR`")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path} is not a readable minivae checkpoint (truncated or corrupt?): {e}. "
                              "Re-run training to write a new one.") from e
    if "config" not in arrays or str(arrays.get("format", "")) != FORMAT:
        raise CheckpointError(f"{path} is an .npz file but not a minivae checkpoint ({FORMAT}).")
    try:
        config, history = json.loads(str(arrays["config"])), json.loads(str(arrays["history"]))
    except (json.JSONDecodeError, KeyError) as e:
        raise CheckpointError(f"{path}: the stored configuration is not valid JSON ({e}).") from e
    try:
        model = build_model(config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot rebuild a model from its configuration {config}: {e}") from e
    stored = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    if stored.keys() != model.params.keys():
        missing, extra = sorted(model.params.keys() - stored.keys()), sorted(stored.keys() - model.params.keys())
        raise CheckpointError(f"{path}: parameters do not match the configuration "
                              f"(missing {missing}, unexpected {extra}).")
    for k, p in model.params.items():
        if stored[k].shape != p.shape:
            raise CheckpointError(f"{path}: parameter {k} has shape {stored[k].shape} but the "
                                  f"configuration {config} needs {p.shape}.")
        p[...] = stored[k]
    return model, history
