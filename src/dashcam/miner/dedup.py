"""Near-duplicate clusters across every frame of a project (pure: arrays in, arrays out).

Perceptual hashes: multi-index hashing. The 64 bits are cut into ``m`` bands; two hashes
within Hamming distance ``d`` agree to within ``r = d // m`` bits on at least one band
(pigeonhole), so candidates come from band buckets probed with every flip pattern of at
most ``r`` bits, and only candidates get the full 64-bit Hamming check. Bands of up to
22 bits are looked up in a direct-address table of bucket offsets, so a probe is one pass
over the keys (wider bands: a sort and ``searchsorted``); ``m`` is picked by a cost model
so that random collisions stay few, hence the whole search grows about n log n, not n².

Embeddings: k nearest neighbours by inner product on L2-normalised vectors (FAISS when
installed, else blocked NumPy), pairs above ``min_similarity``.

Pairs are merged by union-find; :func:`keep_best` keeps the sharpest frame of a cluster.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from dashcam.miner.hashing import popcount64

IntArray = NDArray[np.int64]
Pairs = NDArray[np.int64]  # (P, 2), i < j


# Bands up to this width are looked up in a direct-address table (2**width + 1 offsets);
# wider ones by binary search in the sorted keys.
_DIRECT_MAX_BITS = 22


def _band_edges(m: int) -> list[tuple[int, int]]:
    cuts = np.linspace(0, 64, m + 1).round().astype(int)
    return [(int(cuts[k]), int(cuts[k + 1])) for k in range(m)]


def _n_masks(width: int, r: int) -> int:
    return sum(math.comb(width, k) for k in range(min(r, width) + 1))


def choose_bands(n: int, max_distance: int) -> int:
    """Bands minimising the expected work: per band a table (or sort), per probe a pass
    over the ``n`` keys, and per random bucket collision a full Hamming check."""
    best_m, best_cost = 1, math.inf
    for m in range(1, min(64, max_distance + 1) + 1):
        r = max_distance // m
        width = max(hi - lo for lo, hi in _band_edges(m))
        probes = m * _n_masks(width, r)
        if probes > 20_000:
            continue
        if width <= _DIRECT_MAX_BITS:
            build, probe_cost = 2.0**width * 0.5 + n * 8.0, n * 1.0
        else:
            build, probe_cost = n * math.log2(max(n, 2)), n * 2.0 * math.log2(max(n, 2))
        collisions = n * n / 2.0**width
        cost = m * build + probes * (probe_cost + 3.0 * collisions)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def _use_direct(n: int, width: int, n_masks: int) -> bool:
    """A direct-address table pays when the probes outnumber its buckets."""
    return width <= _DIRECT_MAX_BITS and n * n_masks >= (1 << width) // 2


def _masks(width: int, r: int) -> NDArray[np.uint64]:
    out = [0]
    for k in range(1, min(r, width) + 1):
        out += [sum(1 << b for b in bits) for bits in combinations(range(width), k)]
    return np.array(out, dtype=np.uint64)


def hash_pairs(hashes: NDArray[np.uint64], max_distance: int, bands: int = 0) -> Pairs:
    """All pairs ``(i, j)``, i < j, with Hamming(hashes[i], hashes[j]) <= max_distance.

    ``hashes`` is (N,) uint64; ``bands`` 0 picks the band count by :func:`choose_bands`.
    Exact (no missed pairs) for any band count.

    >>> h = np.array([0, 1, 0xFFFF, 3], dtype=np.uint64)
    >>> hash_pairs(h, 2).tolist()
    [[0, 1], [0, 3], [1, 3]]
    """
    h = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = h.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    m = bands or choose_bands(n, max_distance)
    r = max_distance // m
    found: list[Pairs] = []
    for lo, hi in _band_edges(m):
        width = hi - lo
        keys = (h >> np.uint64(64 - hi)) & np.uint64((1 << width) - 1)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        masks = _masks(width, r)
        direct = _use_direct(n, width, masks.size)
        if direct:
            # bucket offsets by counting (no search); a byte-per-bucket presence table
            # answers most probes with one small gather, only hits read the offsets
            ikeys = sorted_keys.astype(np.int32)
            counts_all = np.bincount(ikeys, minlength=1 << width)
            starts = np.zeros((1 << width) + 1, dtype=np.int64)
            np.cumsum(counts_all, out=starts[1:])
            present = counts_all > 0
        # probes run over the keys in sorted order: a flip of low bits stays near in the
        # table, which keeps the gathers in cache
        for mask in masks:
            if direct:
                probe = ikeys ^ np.int32(mask)
                hit = np.flatnonzero(present[probe])
                if hit.size == 0:
                    continue
                ph = probe[hit]
                left = starts[ph]
                c = starts[ph + 1] - left
            else:
                probe_u = sorted_keys ^ mask
                lo_i = np.searchsorted(sorted_keys, probe_u, side="left")
                counts = np.searchsorted(sorted_keys, probe_u, side="right") - lo_i
                hit = np.flatnonzero(counts)
                if hit.size == 0:
                    continue
                left, c = lo_i[hit], counts[hit]
            qi = order[np.repeat(hit, c)]
            offs = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
            cj = order[np.repeat(left, c) + offs]
            keep = qi < cj
            qi, cj = qi[keep], cj[keep]
            close = popcount64(h[qi] ^ h[cj]) <= max_distance
            if close.any():
                found.append(np.stack([qi[close], cj[close]], axis=1).astype(np.int64))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def _faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def embedding_pairs(
    vectors: NDArray[np.float32], min_similarity: float, neighbours: int = 10
) -> Pairs:
    """Pairs ``(i, j)``, i < j, among each row's ``neighbours`` nearest rows whose cosine
    similarity is at least ``min_similarity``. ``vectors`` is (N, D)."""
    v = np.asarray(vectors, dtype=np.float32)
    n = v.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    k = min(neighbours + 1, n)
    if _faiss_available():
        import faiss

        index = faiss.IndexFlatIP(v.shape[1])
        index.add(v)
        sims, idx = index.search(v, k)
    else:
        sims = np.empty((n, k), dtype=np.float32)
        idx = np.empty((n, k), dtype=np.int64)
        for start in range(0, n, 1024):
            block = v[start : start + 1024] @ v.T
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            idx[start : start + 1024] = top
            sims[start : start + 1024] = np.take_along_axis(block, top, axis=1)
    rows = np.repeat(np.arange(n), k)
    cols = idx.ravel().astype(np.int64)
    ok = (sims.ravel() >= min_similarity) & (cols >= 0) & (rows != cols)
    a, b = rows[ok], cols[ok]
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    return np.unique(pairs, axis=0) if pairs.size else np.zeros((0, 2), dtype=np.int64)


def clusters(n: int, pairs: Iterable[Pairs]) -> IntArray:
    """Union-find over ``n`` items: (N,) cluster label = smallest member index."""
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    for p in pairs:
        for i, j in p.tolist():
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    # pointer jumping resolves every item's root at once
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            return parent
        parent = jumped


def keep_best(labels: IntArray, score: NDArray[np.float64]) -> NDArray[np.bool_]:
    """(N,) True for the best-scoring member of each cluster (ties: lowest index)."""
    n = labels.shape[0]
    order = np.lexsort((np.arange(n), -np.asarray(score, dtype=np.float64), labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    keep = np.zeros(n, dtype=bool)
    keep[order[first]] = True
    return keep
