"""Two-tower scorer: the text encoder's item vectors tuned to the interactions.

Item tower (per item i, from the frozen unit text vector v_i, float32[d_text], e.g. d_text = 384):

    a_i = v_i + W2 · gelu(W1 · v_i)           residual adapter, W1 [hidden, d_text], W2 [d_text, hidden]
                                              (W2 starts at zero: the adapter starts as the identity)
    e_i = normalise(P · a_i + b + id_i)       P [dim, d_text]; id_i [dim] a trainable ID embedding
                                              (`item_ids`), zero-initialised and kept at zero for items
                                              without train events, so cold items rely on their text

User tower (per history row h_u, float32[n_items] of event weights, e.g. recency 0.5^(n_after/half_life)):

    p_u = normalise(sum_j h_uj · e_j)         the weighted mean direction of the history embeddings
    score(u, i) = p_u · e_i                   cosine, in [-1, 1]

The user tower has no weights of its own, so any history (a new user, or one that grew since the
fit) is scored without refitting, and the recency weights given at scoring time flow straight in.

Training reads only the binary history. Each epoch visits every (user, item) event once in a
shuffled order; the user side of an event is built from the user's OTHER items (at most
`max_history`, sampled without replacement, equal weights), so the model learns to predict a
held-out item from the rest of the history. Losses:

- "softmax": sampled softmax over the batch's positives (in-batch negatives) with the logQ
  correction: logit_ij = p_i · e_j / temperature - log q_j, q_j = count_j / n_events the chance
  that item j is a batch positive. In-batch negatives are drawn in proportion to popularity, so
  without the correction popular items are pushed down far more often than a full softmax would
  push them and the scores drift toward log p(i|u) - log q_i (a PMI-like, niche-favouring score);
  with it the model estimates the full-softmax log p(i|u) up to a per-user constant. Columns
  that are other items of row i's user are masked out (they are not negatives).
- "bpr": one uniformly sampled negative per event, -log sigmoid((p·e_pos - p·e_neg) / temperature).

The fitted state is the final item embedding table `item_embeddings` float32[n_items, dim]
(plus the tower weights, for inspection); scoring is numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.models.base import Scorer
from prismrec.params import param

THREADS = 1


@dataclass(frozen=True)
class TwoTowerParams:
    dim: int = param(128, "size of the item and user embeddings", min=1)
    hidden: int = param(256, "hidden width of the residual text adapter (0 = no adapter)", min=0)
    epochs: int = param(20, "passes over the train events", min=1)
    batch_size: int = param(512, "events per step (also the number of in-batch negatives)", min=2)
    learning_rate: float = param(0.002, "AdamW step size", min=0.0)
    weight_decay: float = param(1e-4, "AdamW decoupled weight decay", min=0.0)
    temperature: float = param(0.05, "divides the cosine scores in the loss", min=1e-4)
    loss: str = param("softmax", "softmax (in-batch negatives, logQ-corrected) or bpr", choices=("softmax", "bpr"))
    logq: bool = param(True, "subtract log popularity from the in-batch logits (softmax loss)")
    item_ids: bool = param(True, "add a trainable ID embedding (zero for items without train events)")
    max_history: int = param(50, "most history items sampled to build the user side of an event", min=1)
    seed: int = param(42, "random seed (initial weights and sampling)")


class TwoTower(Scorer):
    """Item tower over frozen text vectors plus IDs; the user is the weighted mean of the history embeddings.

    Attributes after fit:
        item_embeddings: float32[n_items, dim], unit rows (zero rows only for zero text vectors of
            items without ID embeddings).
        losses: float64[epochs] mean training loss per epoch (not part of the state).
    """

    name = "two-tower"
    Params = TwoTowerParams
    needs_vectors = True

    # ------------------------------------------------------------------ training

    def _fit(self, history: sp.csr_matrix) -> None:
        import torch

        p = self.params
        previous_threads = torch.get_num_threads()
        previous_deterministic = torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(THREADS)
        torch.use_deterministic_algorithms(True)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(p.seed)
                tower, losses = self._train(history.tocsr().astype(np.float32), np.random.default_rng(p.seed))
            with torch.no_grad():
                self.item_embeddings = tower().numpy().astype(np.float32, copy=True)
            self.tower_weights = {name: t.detach().numpy().copy() for name, t in tower.named_parameters()}
            self.losses = np.asarray(losses, dtype=np.float64)
        finally:
            torch.set_num_threads(previous_threads)
            torch.use_deterministic_algorithms(previous_deterministic)

    def _train(self, history: sp.csr_matrix, rng: np.random.Generator) -> tuple[Any, list[float]]:
        """Train the item tower on the binary history [n_users, n_items]; returns (tower, loss per epoch)."""
        import torch
        import torch.nn.functional as F

        p = self.params
        vectors = self.side.vectors
        assert vectors is not None
        history.sort_indices()
        counts = np.asarray((history > 0).sum(axis=0)).ravel().astype(np.float64)
        tower = _ItemTower(torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)), p, counts > 0)
        optimiser = torch.optim.AdamW(tower.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay, foreach=True)
        log_q = torch.from_numpy(np.log(np.maximum(counts, 1.0) / max(counts.sum(), 1.0)).astype(np.float32))

        degree = np.diff(history.indptr)
        users = np.repeat(np.arange(history.shape[0]), degree)
        offsets = np.arange(history.nnz) - history.indptr[users]  # position of each event in its user's row
        keep = degree[users] >= 2  # a user side needs at least one other item
        users, offsets = users[keep], offsets[keep]
        losses: list[float] = []
        if len(users) == 0:
            return tower, losses
        n_items = history.shape[1]
        for _ in range(p.epochs):
            order = rng.permutation(len(users))
            total, steps = 0.0, 0
            for start in range(0, len(order), p.batch_size):
                batch = order[start : start + p.batch_size]
                if len(batch) < 2 and p.loss == "softmax":
                    continue
                b_users, b_offsets = users[batch], offsets[batch]
                positives = history.indices[history.indptr[b_users] + b_offsets]
                context, mask = _sample_context(history, b_users, b_offsets, p.max_history, rng)
                needed = np.unique(np.concatenate([context[mask], positives]))
                negatives = rng.integers(0, n_items, size=len(batch)) if p.loss == "bpr" else None
                if negatives is not None:
                    needed = np.union1d(needed, negatives)
                local = np.full(n_items, -1, dtype=np.int64)
                local[needed] = np.arange(len(needed))

                embeddings = tower(torch.from_numpy(needed))  # [n_needed, dim]
                rows, slots = np.nonzero(mask)
                pick = torch.sparse_coo_tensor(
                    torch.from_numpy(np.stack([rows, local[context[rows, slots]]])),
                    torch.ones(len(rows)), (len(batch), len(needed)), is_coalesced=True, check_invariants=False,
                )  # [B, n_needed]: 1 where the item is in the row's context
                profile = F.normalize(torch.sparse.mm(pick, embeddings), dim=1)  # [B, dim]
                pos = embeddings[torch.from_numpy(local[positives])]
                if negatives is None:
                    logits = profile @ pos.T / p.temperature  # [B, B]
                    if p.logq:
                        logits = logits - log_q[torch.from_numpy(positives)][None, :]
                    # other positives of row i's user are not negatives (the diagonal stays)
                    seen = np.asarray(history[b_users][:, positives].todense()) > 0
                    np.fill_diagonal(seen, False)
                    logits = logits.masked_fill(torch.from_numpy(seen), float("-inf"))
                    loss = F.cross_entropy(logits, torch.arange(len(batch)))
                else:
                    neg = embeddings[torch.from_numpy(local[negatives])]
                    margin = ((profile * pos).sum(dim=1) - (profile * neg).sum(dim=1)) / p.temperature
                    loss = -F.logsigmoid(margin).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach())
                steps += 1
            losses.append(total / max(steps, 1))
        tower.eval()
        return tower, losses

    # ------------------------------------------------------------------ scoring and state

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """float32[n, n_items]: cosine of the weighted mean history embedding with each item embedding."""
        profiles = np.asarray(history.astype(np.float32) @ self.item_embeddings, dtype=np.float32)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        profiles = np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)
        return profiles @ self.item_embeddings.T

    def state(self) -> dict[str, np.ndarray]:
        return {"item_embeddings": self.item_embeddings}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.item_embeddings = np.asarray(arrays["item_embeddings"], dtype=np.float32)


def _sample_context(
    history: sp.csr_matrix, users: np.ndarray, offsets: np.ndarray, max_history: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The user side of each event: up to `max_history` of the user's other items, without replacement.

    Args:
        history: binary CSR [n_users, n_items] with sorted indices.
        users: int[B] the events' users.
        offsets: int[B] position of each event's item within its user's row (that item is left out).

    Returns:
        (items int64[B, L], valid bool[B, L]); invalid slots hold item 0 and must be ignored.
    """
    degree = np.diff(history.indptr)[users]
    width = int(degree.max())
    columns = np.arange(width)[None, :]
    keys = rng.random((len(users), width))
    keys[(columns >= degree[:, None]) | (columns == offsets[:, None])] = np.inf
    take = min(max_history, width)
    chosen = np.argpartition(keys, take - 1, axis=1)[:, :take] if take < width else np.argsort(keys, axis=1)
    valid = np.isfinite(np.take_along_axis(keys, chosen, axis=1))
    positions = history.indptr[users][:, None] + np.where(valid, chosen, 0)
    return np.where(valid, history.indices[positions], 0).astype(np.int64), valid


def _ItemTower(vectors: Any, p: TwoTowerParams, has_events: np.ndarray) -> Any:
    """The item tower as a torch module: `tower(items int64[k]) -> float32[k, dim]` unit rows; `tower()` = all."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class ItemTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("vectors", vectors)
            self.register_buffer("id_mask", torch.from_numpy(has_events.astype(np.float32))[:, None])
            self.projection = nn.Linear(vectors.shape[1], p.dim)
            self.adapter_in = nn.Linear(p.dim, p.hidden) if p.hidden > 0 else None
            self.adapter_out = nn.Linear(p.hidden, p.dim) if p.hidden > 0 else None
            if self.adapter_out is not None:
                nn.init.zeros_(self.adapter_out.weight)
                nn.init.zeros_(self.adapter_out.bias)
            self.ids = nn.Parameter(torch.zeros(len(vectors), p.dim)) if p.item_ids else None

        def forward(self, items: Any = None) -> Any:
            v = self.vectors if items is None else self.vectors[items]
            e = self.projection(v)
            if self.adapter_in is not None and self.adapter_out is not None:
                e = e + self.adapter_out(F.gelu(self.adapter_in(e)))
            if self.ids is not None:
                ids = self.ids * self.id_mask
                e = e + (ids if items is None else ids[items])
            return F.normalize(e, dim=1)

    return ItemTower()
