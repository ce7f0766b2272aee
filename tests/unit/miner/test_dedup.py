from __future__ import annotations

import numpy as np
import pytest

from dashcam.miner.dedup import clusters, embedding_pairs, hash_pairs, keep_best
from dashcam.miner.hashing import dhash, hamming, phash, popcount64, to_signed, to_unsigned


def brute(h: np.ndarray, d: int) -> set[tuple[int, int]]:
    dist = popcount64(h[:, None] ^ h[None, :])
    i, j = np.nonzero(np.triu(dist <= d, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


# bands 0 and 4 and 9 use the direct-address bucket table here, 3 (22-bit bands, few
# keys) the sorted-key search
@pytest.mark.parametrize(("d", "bands"), [(0, 0), (3, 0), (6, 0), (8, 0), (8, 3), (8, 4), (8, 9)])
def test_hash_pairs_finds_exactly_the_close_pairs(d: int, bands: int) -> None:
    rng = np.random.default_rng(d + bands)
    base = rng.integers(0, 2**63, 60, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    h = base[rng.integers(0, 60, 1500)]
    for _ in range(6):  # flip up to 6 random bits per hash
        m = rng.random(h.size) < 0.5
        h[m] ^= np.uint64(1) << rng.integers(0, 64, m.sum()).astype(np.uint64)
    got = {tuple(p) for p in hash_pairs(h, d, bands).tolist()}
    assert got == brute(h, d)
    assert got  # the planted near-duplicates are there to find


def test_clusters_and_best_member() -> None:
    labels = clusters(5, [np.array([[0, 3], [3, 4]])])
    assert labels.tolist() == [0, 1, 2, 0, 0]
    keep = keep_best(labels, np.array([1.0, 5.0, 0.0, 9.0, 2.0]))
    assert keep.tolist() == [False, True, True, True, False]


def test_clusters_follow_long_chains_in_any_order() -> None:
    chain = np.array([[6, 7], [5, 6], [2, 9], [4, 5], [1, 2], [3, 4], [8, 9]])
    assert clusters(10, [chain]).tolist() == [0, 1, 1, 3, 3, 3, 3, 3, 1, 1]


def test_embedding_pairs_numpy() -> None:
    v = np.array([[1, 0], [0.99, 0.05], [0, 1]], dtype=np.float32)
    assert embedding_pairs(v, 0.95).tolist() == [[0, 1]]


def test_perceptual_hash_tolerates_noise_not_other_images() -> None:
    rng = np.random.default_rng(0)
    img = cv2_blobs(rng)
    noisy = np.clip(img.astype(int) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    other = cv2_blobs(np.random.default_rng(1))
    for fn in (phash, dhash):
        assert hamming(fn(img), fn(noisy)) <= 10  # flat areas flip a few dHash bits
        assert hamming(fn(img), fn(other)) > 16
    assert to_unsigned(to_signed(2**64 - 1)) == 2**64 - 1


def cv2_blobs(rng: np.random.Generator) -> np.ndarray:
    import cv2

    img = np.zeros((240, 320, 3), np.uint8)
    for _ in range(12):
        c = rng.integers(0, 320), rng.integers(0, 240)
        cv2.circle(
            img,
            (int(c[0]), int(c[1])),
            int(rng.integers(10, 60)),
            tuple(int(x) for x in rng.integers(0, 255, 3)),
            -1,
        )
    return img
