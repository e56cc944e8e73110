r"""Make the data files shipped inside the package, in minivae/_data/.

    python tools/make_embedded_data.py ../shared/data/mnist [--frey FREY_NPZ] [--out DIR]

FREY_NPZ defaults to MNIST_DIR/../frey_faces/frey_faces.npz, DIR to minivae/_data/.

- mnist_subset.npz: the first 10000 training and first 2000 test images of MNIST, uint8
  (N, 28, 28) images and uint8 (N,) labels, keys x_train, y_train, x_test, y_test.
  The source IDX files are checked against the official sha256 first.
- frey_faces.npz: a byte copy of the Frey Face file, checked against its sha256.

The output is byte-for-byte deterministic (fixed zip timestamps), so re-running the tool
changes nothing in git unless the data changed.
"""
import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from minivae.app.atomic import atomic_file  # noqa: E402
from minivae.datasets import EMBEDDED_DIR, read_idx  # noqa: E402
from minivae.app.download import CHECKSUMS, FILES  # noqa: E402
from minivae.errors import DataError  # noqa: E402

N_TRAIN, N_TEST = 10_000, 2_000
FREY_SHA256 = "3c70375e0a9c4751ad49ad5f1f692bd094c46f133cf4aa8ea77d1cb14e1efcd1"
FREY_SHAPE = (1965, 28, 20)


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def savez_deterministic(path, **arrays):
    """Like np.savez_compressed, but with fixed zip timestamps: the same arrays give the
    same bytes. np.load reads it as usual. Written atomically: all or nothing."""
    with atomic_file(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED,
                                                  compresslevel=9) as zf:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)


def find_idx(folder, fname):
    for path in (folder / (fname + ".gz"), folder / fname):
        if path.is_file():
            return path
    raise SystemExit(f"{fname}(.gz) not found in {folder}")


def make_mnist_subset(mnist_dir, out):
    sums = CHECKSUMS["mnist"]
    a = {role: read_idx(find_idx(mnist_dir, f), sha256=sums[f]) for role, f in FILES.items()}
    savez_deterministic(out,
                        x_train=a["train_images"][:N_TRAIN], y_train=a["train_labels"][:N_TRAIN],
                        x_test=a["test_images"][:N_TEST], y_test=a["test_labels"][:N_TEST])


def copy_frey(frey, out):
    if sha256_of(frey) != FREY_SHA256:
        raise SystemExit(f"{frey} has sha256 {sha256_of(frey)}, expected {FREY_SHA256}")
    with atomic_file(out) as f:
        f.write(Path(frey).read_bytes())
    with np.load(out) as npz:
        if npz["images"].shape != FREY_SHAPE or npz["images"].dtype != np.uint8:
            raise SystemExit(f"{frey}: 'images' must be uint8 {FREY_SHAPE}")
    assert sha256_of(out) == FREY_SHA256


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mnist_dir", type=Path, help="folder with the four MNIST IDX files")
    parser.add_argument("--frey", type=Path, default=None,
                        help="frey_faces.npz (default: MNIST_DIR/../frey_faces/frey_faces.npz)")
    parser.add_argument("--out", type=Path, default=EMBEDDED_DIR, help="output folder")
    args = parser.parse_args(argv)
    frey = args.frey or args.mnist_dir / ".." / "frey_faces" / "frey_faces.npz"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        make_mnist_subset(args.mnist_dir, args.out / "mnist_subset.npz")
    except DataError as err:
        raise SystemExit(f"error: {err}") from None
    copy_frey(frey, args.out / "frey_faces.npz")
    for name in ("mnist_subset.npz", "frey_faces.npz"):
        path = args.out / name
        print(f"{path}: {path.stat().st_size:,} bytes, sha256 {sha256_of(path)}")


if __name__ == "__main__":
    main()
