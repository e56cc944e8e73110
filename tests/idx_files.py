"""Writing IDX files (the MNIST format) for the tests: the inverse of datasets.read_idx."""
import numpy as np

from minivae.datasets import _IDX_DTYPES


def idx_bytes(array):
    r"""The IDX encoding of ``array`` (before gzip).

    array : ndarray of 1 to 255 dimensions, of dtype uint8, int8, int16, int32, float32 or
    float64. Returns bytes: 0x00 0x00 <type code> <ndim>, the sizes as big-endian uint32,
    then the values big-endian in C order.
    """
    array = np.asarray(array)
    codes = {np.dtype(big).newbyteorder("="): code for code, big in _IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    assert native in codes and 1 <= array.ndim <= 255, (array.dtype, array.ndim)
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, _IDX_DTYPES[code]).tobytes()
