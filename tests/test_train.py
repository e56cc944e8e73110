import numpy as np
import pytest
from numpy.testing import assert_allclose

from minivae import VAE, Adam, Autoencoder
from minivae.datasets import fixed_binarization, load_dataset
from minivae.train import TrainingDiverged, kl_weight, train


@pytest.fixture(scope="module")
def subset():
    data = load_dataset("mnist-subset")
    return data.x_train[:2000], fixed_binarization(data.x_test[:500], 1)


def test_kl_warm_up_rises_linearly_to_beta_and_stays():
    assert kl_weight(0, 10, beta=2.0, warmup_epochs=0) == 2.0
    w = [kl_weight(t, 10, beta=2.0, warmup_epochs=2) for t in range(0, 30, 5)]
    assert_allclose(w, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])


def test_training_on_mnist_reduces_both_parts_and_is_reproducible(subset):
    x_train, x_test = subset
    runs = []
    for _ in range(2):
        vae = VAE(784, [64], 8, rng=np.random.default_rng(1))
        runs.append(train(vae, x_train, x_test, epochs=3, batch_size=100, binarize_data=True, seed=7))
    a, b = runs
    for k in ("train_loss", "train_reconstruction", "train_kl", "test_loss", "test_kl"):
        assert a[k] == b[k], k
    assert a["test_loss"][-1] < 0.85 * a["test_loss"][0]
    assert a["test_kl"][-1] > 0 and a["train_reconstruction"][-1] < a["train_reconstruction"][0]
    assert_allclose(np.array(a["train_loss"]), np.array(a["train_reconstruction"]) + np.array(a["train_kl"]),
                    rtol=1e-5)
    other = train(VAE(784, [64], 8, rng=np.random.default_rng(1)), x_train, x_test, epochs=1,
                  batch_size=100, binarize_data=True, seed=8)
    assert other["train_loss"][0] != a["train_loss"][0]


def test_history_records_every_epoch_and_warm_up_beta(subset):
    x_train, x_test = subset
    seen = []
    history = train(VAE(784, [32], 4), x_train[:500], None, epochs=3, batch_size=50, warmup_epochs=2,
                    on_epoch=lambda e, h: seen.append((e, len(h["train_loss"]))))
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert history["test_loss"] == [None] * 3
    assert_allclose(history["beta"], [0.5, 1.0, 1.0])
    assert all(s > 0 for s in history["seconds"])


def test_autoencoder_trains_with_the_same_loop(subset):
    x_train, _ = subset
    ae = Autoencoder(784, [64], 8, rng=np.random.default_rng(0))
    history = train(ae, x_train, x_train[:200], epochs=3, batch_size=100)
    assert history["test_loss"][-1] < 0.85 * history["test_loss"][0]
    assert history["train_kl"] == [0.0] * 3


class _PoisonAfter(Adam):
    """Adam that writes NaN into the parameters after a number of steps (a divergence)."""

    def __init__(self, params, steps):
        super().__init__(params)
        self.left = steps

    def step(self, grads):
        super().step(grads)
        self.left -= 1
        if self.left == 0:
            next(iter(self.params.values()))[...] = np.nan


def test_nan_loss_stops_training_with_a_clear_message_after_the_last_good_epoch(subset):
    x_train, _ = subset
    vae = VAE(784, [16], 2)
    epochs_done = []
    with pytest.raises(TrainingDiverged, match="NaN|nan.*smaller learning rate"):
        train(vae, x_train[:1000], None, epochs=5, batch_size=100, optimizer=_PoisonAfter(vae.params, 15),
              on_epoch=lambda e, h: epochs_done.append(e))
    assert epochs_done == [1]          # epoch 1 (10 steps) finished cleanly; epoch 2 diverged
