"""64-bit perceptual hashes of images (pure numpy + OpenCV).

- ``phash``: DCT of a 32x32 grey image, the top-left 8x8 coefficients against their median;
- ``dhash``: 9x8 grey image, each pixel brighter than its right neighbour.

Hashes are ``uint64``; near-duplicate images differ in few bits (Hamming distance).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from dashcam.miner.config import HashKind

_BITS = np.left_shift(np.uint64(1), np.arange(63, -1, -1, dtype=np.uint64))


def _pack(bits: NDArray[np.bool_]) -> int:
    return int(np.bitwise_or.reduce(np.where(bits.ravel(), _BITS, np.uint64(0))))


def _grey(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return g.astype(np.float32)


def phash(image: NDArray[np.uint8]) -> int:
    """pHash of a BGR (or grey) image as an int in [0, 2**64).

    >>> img = np.tile(np.arange(64, dtype=np.uint8), (64, 1))
    >>> phash(img) == phash(img[::2, ::2].repeat(2, 0).repeat(2, 1))
    True
    """
    small = cv2.resize(_grey(image), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:8, :8]
    med = np.median(low.ravel()[1:])  # the DC term would dominate the median
    return _pack(low > med)


def dhash(image: NDArray[np.uint8]) -> int:
    """dHash (horizontal gradient) of a BGR (or grey) image as an int in [0, 2**64)."""
    small = cv2.resize(_grey(image), (9, 8), interpolation=cv2.INTER_AREA)
    return _pack(small[:, 1:] > small[:, :-1])


def image_hash(image: NDArray[np.uint8], kind: HashKind) -> int:
    return phash(image) if kind == HashKind.PHASH else dhash(image)


def to_signed(h: int) -> int:
    """The int64 view of a 64-bit hash (databases store signed 64-bit integers)."""
    return h - (1 << 64) if h >= 1 << 63 else h


def to_unsigned(h: int) -> int:
    return h + (1 << 64) if h < 0 else h


def hamming(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def popcount64(x: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Bits set in each element of a uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        out: NDArray[np.int64] = np.bitwise_count(x).astype(np.int64)
        return out
    by = np.ascontiguousarray(x, dtype=np.uint64).view(np.uint8).reshape(*x.shape, 8)
    bits: NDArray[np.int64] = np.unpackbits(by, axis=-1).sum(axis=-1).astype(np.int64)
    return bits
