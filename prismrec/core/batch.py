"""Batch recommendation over many users on every core: user blocks scored in worker processes, in order.

The workers are forked from the calling process, so they share the loaded pipeline's arrays
(copy-on-write) and each answers its block through the same `FittedPipeline.recommend`. Blocks come
back in user order as soon as they are ready, so a caller can stream them to a file without holding
every list in memory.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest, RecommendResult

BLOCK_USERS = 4096  # users per block handed to one worker
_WORKER_PIPELINE: FittedPipeline | None = None  # the pipeline a forked worker answers with


def default_workers() -> int:
    """The cores this process may run on."""
    return max(len(os.sched_getaffinity(0)), 1)


def recommend_blocks(pipeline: FittedPipeline, users: np.ndarray, k: int, workers: int | None = None,
                     block: int = BLOCK_USERS, explain: bool = False,
                     ) -> Iterator[tuple[np.ndarray, RecommendResult]]:  # fmt: skip
    """(users of the block, its result) for consecutive blocks of `users`, in order.

    Args:
        pipeline: the fitted pipeline.
        users: int[n] user indices.
        k: list length.
        workers: processes (default: the available cores; 1 = in this process).
        block: users per block.
        explain: also give reasons and their attribution.
    """
    users = np.asarray(users, dtype=np.int64)
    blocks = [users[start : start + block] for start in range(0, len(users), block)]
    workers = default_workers() if workers is None else max(int(workers), 1)
    if workers == 1 or len(blocks) <= 1:
        for part in blocks:
            yield part, pipeline.recommend(RecommendRequest.for_users(part, k=k, explain=explain))
        return
    global _WORKER_PIPELINE
    pipeline.warm()  # built once here, shared by the forked workers
    _WORKER_PIPELINE = pipeline
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending = [pool.submit(_answer, part, k, explain) for part in blocks[: 2 * workers]]
            following = iter(blocks[2 * workers :])
            for part in blocks:
                result = pending.pop(0).result()
                upcoming = next(following, None)
                if upcoming is not None:
                    pending.append(pool.submit(_answer, upcoming, k, explain))
                yield part, result
    finally:
        _WORKER_PIPELINE = None


def _answer(users: np.ndarray, k: int, explain: bool) -> RecommendResult:
    assert _WORKER_PIPELINE is not None, "workers are forked after the pipeline is set"
    return _WORKER_PIPELINE.recommend(RecommendRequest.for_users(users, k=k, explain=explain))
