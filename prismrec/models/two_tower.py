"""Two-tower scorer: the text encoder's item vectors tuned to the interactions.

Item tower (per item i, from its frozen unit text vector v_i, float32[d_text], e.g. d_text = 384):

    z_i = P · v_i + c                          P [dim, d_text]: trainable projection
    a_i = z_i + W2 · gelu(W1 · z_i)            residual adapter, W1 [hidden, dim], W2 [dim, hidden];
                                               W2 starts at zero, so the adapter starts as the identity
    e_i = normalise(a_i + id_i)                id_i float32[dim]: trainable ID embedding (`item_ids`),
                                               zero-initialised and held at zero for items without train
                                               events, so a cold item is placed by its text alone
    b_i                                        optional per-item offset (`item_bias`): the part of an
                                               item's appeal (popularity) that no direction carries

User tower (per history row h_u, float32[n_items] of event weights, e.g. recency 0.5^(n_after/half_life)):

    m_u = normalise(sum_j h_uj · e_j)          the weighted mean direction of the history embeddings
    p_u = normalise(m_u + U2 · gelu(U1 · m_u)) optional residual MLP (`user_mlp`), else p_u = m_u
    score(u, i) = p_u · e_i + b_i              cosine (+ offset), b_i in cosine units

The user side is computed from the history row it is given, so a new user or a history that grew
since the fit is scored without refitting, and the recency weights given at scoring time flow in.

Training reads only the binary history [n_users, n_items]. Each epoch visits every (user, item)
event once, in a shuffled order; the user side of an event is built from the user's OTHER items (at
most `max_history`, sampled without replacement, equal weights) so the held-out item never leaks
into its own query. Losses (tau = `temperature`, beta_i = b_i / tau the offset in logit units):

- "softmax": sampled softmax over the batch's positives (in-batch negatives) with the logQ
  correction: logit_kj = p_k · e_j / tau + beta_j - log q_j, with q_j = count_j / n_events the chance
  that item j is a batch positive. In-batch negatives are drawn in proportion to popularity, so
  without the correction a popular item is pushed down far more often than in a full softmax and
  the scores learn log p(i|u) - log q_i (a PMI-like score that favours niche items); with it they
  estimate the full-softmax log p(i|u) up to a per-user constant. Columns that are items of row k's
  user (duplicates of its positive included) are masked out: they are not negatives.
  With `calibration` = lambda > 0 the loss becomes cross_entropy + lambda · mean_k KL(t_k || r~_k), a
  calibration term (Steck 2018): t_k float[n_categories] is the category distribution of row k's
  user's whole train history (sum over its items of p(c|i) = 1/|G_i| for each of item i's categories
  G_i, normalised to sum 1); r_k = sum_j softmax_j(sigma · (p_k · e_j / tau + beta_j) - log q_j) p(c|j)
  is the category distribution that softmax puts on the batch positives (same mask and correction: an
  estimate of the full-catalogue one), r~_k = (1 - 0.01) r_k + 0.01 t_k. With sigma =
  `calibration_sharpness` = 1 the softmax is the loss's own; sigma > 1 tempers it toward the top of the
  ranking, which is what a top-K list shows (the untempered softmax spreads over many more than K
  items). Users without categorised train items are left out of the mean.
- "bpr": one uniformly sampled negative per event, loss -log sigmoid(s_pos - s_neg) with
  s = p · e / tau + beta (events whose negative is in the user's history are skipped). `calibration`
  applies to the softmax loss only.

The fitted state is numpy only: `item_embeddings` float32[n_items, dim], `item_bias` float32[n_items]
(with `item_bias`) and `user.in.weight` ... (with `user_mlp`); scoring uses only these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import category_distribution, category_shares
from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param

# Share of the target mixed into the predicted category distribution, so the KL stays finite (Steck 2018).
CALIBRATION_MIX = 0.01
# Intra-op threads while training (restored afterwards). One: on ml-100k two threads fit in 29 s
# against 39 s on a quiet 2-core machine, but on a busy one their OpenMP barriers stall (a fit took
# 561 s against 38 s with one thread at the same load), and many steps here are too small to split.
TORCH_THREADS = 1
TORCH_WORKING_SET = 512 << 20  # bytes torch itself holds while training on the CPU


@dataclass(frozen=True)
class TwoTowerParams:
    dim: int = param(128, "size of the item and user embeddings", min=1)
    hidden: int = param(256, "hidden width of the residual adapter, 0 = none (user MLP: max(hidden, dim))", min=0)
    epochs: int = param(15, "passes over the train events", min=1)
    batch_size: int = param(1024, "events per step (also the number of in-batch negatives)", min=2)
    learning_rate: float = param(0.002, "AdamW step size", min=0.0)
    weight_decay: float = param(1e-4, "AdamW decoupled weight decay", min=0.0)
    temperature: float = param(0.2, "divides the cosine scores in the loss (smaller = sharper)", min=1e-4)
    loss: str = param("softmax", "softmax (in-batch negatives, logQ-corrected) or bpr", choices=("softmax", "bpr"))
    logq: bool = param(True, "subtract log popularity from the in-batch logits (softmax loss)")
    item_ids: bool = param(True, "add a trainable ID embedding (kept zero for items without train events)")
    item_bias: bool = param(True, "learn a per-item score offset; items without train events get the mean")
    user_mlp: bool = param(False, "pass the user's mean history embedding through a residual MLP")
    calibration: float = param(
        0.0, "weight of the KL calibration term on the item categories (softmax loss; 0 = off)", min=0.0
    )
    calibration_sharpness: float = param(
        1.0, "multiplies the scores in the calibration term (> 1: the category mix of the ranking's top)", min=1.0
    )
    max_history: int = param(50, "most history items sampled to build the user side of a train event", min=1)
    seed: int = param(42, "random seed (initial weights and sampling)")


class TwoTower(Scorer):
    """Item tower over frozen text vectors (+ IDs); the user is the weighted mean of the history embeddings.

    Attributes after fit:
        item_embeddings: float32[n_items, dim], unit rows.
        item_bias: float32[n_items] score offsets in cosine units, or None.
        user_weights: the user MLP's arrays by name (empty without `user_mlp`).
        losses: float64[epochs] mean training loss per epoch (diagnostic, not saved).
    """

    name = "two-tower"
    Params = TwoTowerParams
    needs_vectors = True

    item_bias: np.ndarray | None = None

    # ------------------------------------------------------------------ training

    def peak_bytes(self, shape: DataShape) -> int:
        """The history copies, the per-item text vectors, projections, ID embeddings and their AdamW state, one
        batch's similarity matrix, and torch's own working set."""
        p = self.params
        per_item = 4 * (384 + 4 * (p.dim + p.dim * int(p.item_ids) + 2))
        batch = 4 * 4 * p.batch_size * (p.batch_size + p.max_history)
        return 4 * shape.matrix_bytes + per_item * shape.n_items + batch + TORCH_WORKING_SET

    def _fit(self, history: sp.csr_matrix) -> None:
        import torch

        p = self.params
        if p.calibration > 0 and p.loss != "softmax":
            raise ConfigError(
                f"model 'two-tower': calibration applies to the softmax loss only (got loss = {p.loss}); "
                "set loss = softmax or calibration = 0"
            )
        if p.calibration > 0 and self.side.categories is None:
            raise ConfigError(
                "model 'two-tower': calibration needs item categories but the catalogue has none; "
                "give an items file with categories or set calibration = 0"
            )
        history = history.tocsr().astype(np.float32)
        history.sort_indices()
        threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(TORCH_THREADS)
        torch.use_deterministic_algorithms(True)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(p.seed)
                towers, losses = self._train(history, np.random.default_rng(p.seed))
            with torch.no_grad():
                self.item_embeddings = towers.items().numpy().astype(np.float32)
                self.item_bias = towers.bias_array(p.temperature)
                self.user_weights = towers.user_arrays()
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)
        self.losses = np.asarray(losses, dtype=np.float64)

    def _train(self, history: sp.csr_matrix, rng: np.random.Generator) -> tuple[Any, list[float]]:
        """Train the towers on the binary history [n_users, n_items] (sorted indices).

        Returns:
            (the trained torch module, mean loss of each epoch).
        """
        import torch
        import torch.nn.functional as F

        p = self.params
        assert self.side.vectors is not None
        n_items = history.shape[1]
        counts = np.diff(history.tocsc().indptr).astype(np.float64)  # train users per item
        towers = _towers(np.ascontiguousarray(self.side.vectors, dtype=np.float32), p, counts > 0)
        optimiser = torch.optim.AdamW(towers.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay,
                                      foreach=True)  # fmt: skip
        log_q = torch.from_numpy(np.log(np.maximum(counts, 1.0) / max(counts.sum(), 1.0)).astype(np.float32))
        shares = None  # (p(c|i) float32[n_items, C], user history distributions float32[n_users, C])
        if p.calibration > 0:
            assert self.side.categories is not None
            shares = tuple(torch.from_numpy(a) for a in _category_targets(history, self.side.categories))

        degree = np.diff(history.indptr)
        users = np.repeat(np.arange(history.shape[0]), degree)
        offsets = np.arange(history.nnz) - history.indptr[users]  # position of each event in its user's row
        keep = degree[users] >= 2  # the user side needs at least one other item
        users, offsets = users[keep], offsets[keep]
        losses: list[float] = []
        for _ in range(p.epochs if len(users) else 0):
            order = rng.permutation(len(users))
            total, steps = 0.0, 0
            for start in range(0, len(order), p.batch_size):
                batch = order[start : start + p.batch_size]
                if len(batch) < 2:
                    continue
                b_users = users[batch]
                positives = history.indices[history.indptr[b_users] + offsets[batch]].astype(np.int64)
                context, valid = _sample_context(history, b_users, offsets[batch], p.max_history, rng)
                negatives = rng.integers(0, n_items, size=len(batch)) if p.loss == "bpr" else np.empty(0, np.int64)
                needed = np.unique(np.concatenate([context[valid], positives, negatives]))
                local = np.full(n_items, -1, dtype=np.int64)
                local[needed] = np.arange(len(needed))

                embeddings = towers.items(torch.from_numpy(needed))  # [n_needed, dim]
                rows, slots = np.nonzero(valid)
                pick = torch.sparse_coo_tensor(
                    torch.from_numpy(np.stack([rows, local[context[rows, slots]]])),
                    torch.ones(len(rows)),
                    (len(batch), len(needed)),
                    is_coalesced=True,
                    check_invariants=False,
                )  # [B, n_needed]: 1 where the item is in row k's context
                profile = towers.user(F.normalize(torch.sparse.mm(pick, embeddings), dim=1))  # [B, dim]
                pos = torch.from_numpy(positives)
                if p.loss == "softmax":
                    scores = profile @ embeddings[torch.from_numpy(local[positives])].T / p.temperature  # [B, B]
                    scores = scores + towers.beta(pos)[None, :]
                    correction = log_q[pos][None, :] if p.logq else torch.zeros(1, len(batch))
                    seen = np.asarray(history[b_users][:, positives].todense()) > 0
                    np.fill_diagonal(seen, False)
                    mask = torch.from_numpy(seen)
                    logits = (scores - correction).masked_fill(mask, float("-inf"))
                    loss = F.cross_entropy(logits, torch.arange(len(batch)))
                    if shares is not None:
                        tempered = (p.calibration_sharpness * scores - correction).masked_fill(mask, float("-inf"))
                        kl = _calibration_kl(tempered, shares[0][pos], shares[1][torch.from_numpy(b_users)])
                        loss = loss + p.calibration * kl
                else:
                    neg = torch.from_numpy(negatives)
                    s_pos = (profile * embeddings[torch.from_numpy(local[positives])]).sum(1) / p.temperature
                    s_neg = (profile * embeddings[torch.from_numpy(local[negatives])]).sum(1) / p.temperature
                    margin = s_pos + towers.beta(pos) - s_neg - towers.beta(neg)
                    usable = torch.from_numpy(np.asarray(history[b_users, negatives]).ravel() == 0)
                    loss = -(F.logsigmoid(margin) * usable).sum() / usable.sum().clamp(min=1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach())
                steps += 1
            losses.append(total / max(steps, 1))
        return towers.eval(), losses

    # ------------------------------------------------------------------ scoring and state

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """float32[n, n_items]: p_u · e_i (+ b_i), p_u from the weighted history rows."""
        profiles = self._user_tower(np.asarray(history.astype(np.float32) @ self.item_embeddings, dtype=np.float32))
        scores = profiles @ self.item_embeddings.T
        return scores if self.item_bias is None else scores + self.item_bias

    def factors(self, users: np.ndarray, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """p_u and e_i, with a constant 1 and the offset b_i appended when the model has item offsets."""
        profiles = self._user_tower(np.asarray(history.astype(np.float32) @ self.item_embeddings, dtype=np.float32))
        if self.item_bias is None:
            return profiles, self.item_embeddings
        ones = np.ones((len(profiles), 1), dtype=np.float32)
        return np.hstack([profiles, ones]), np.hstack([self.item_embeddings, self.item_bias[:, None]])

    def _user_tower(self, sums: np.ndarray) -> np.ndarray:
        """float32[n, dim] p_u from the weighted sums of history embeddings [n, dim]."""
        profiles = _normalise(sums)
        if self.user_weights:
            w = self.user_weights
            hidden = _gelu(profiles @ w["in.weight"].T + w["in.bias"])
            profiles = _normalise(profiles + hidden @ w["out.weight"].T + w["out.bias"])
        return profiles

    def attribute(self, user: int, row: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """The score drop through the user tower when each history item is left out: float32[m, row.nnz]."""
        row = row.tocsr()
        weighted = row.data[:, None].astype(np.float32) * self.item_embeddings[row.indices]  # [n, dim]
        total = weighted.sum(axis=0, keepdims=True)
        targets = self.item_embeddings[np.asarray(items, dtype=np.int64)]  # [m, dim]
        full = self._user_tower(total) @ targets.T  # [1, m]
        without = self._user_tower(total - weighted) @ targets.T  # [n, m]
        return (full - without).T.astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        arrays = {"item_embeddings": self.item_embeddings}
        if self.item_bias is not None:
            arrays["item_bias"] = self.item_bias
        arrays.update({f"user.{name}": value for name, value in self.user_weights.items()})
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.item_embeddings = np.asarray(arrays["item_embeddings"], dtype=np.float32)
        bias = arrays.get("item_bias")
        self.item_bias = None if bias is None else np.asarray(bias, dtype=np.float32)
        self.user_weights = {
            name.removeprefix("user."): np.asarray(value, dtype=np.float32)
            for name, value in arrays.items()
            if name.startswith("user.")
        }


def _normalise(rows: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows, dtype=np.float32), where=norms > 0)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (torch's `gelu(approximate="tanh")`), float32."""
    x = x.astype(np.float32)
    return (0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x**3)))).astype(np.float32)


def _sample_context(
    history: sp.csr_matrix, users: np.ndarray, offsets: np.ndarray, max_history: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The user side of each train event: up to `max_history` of the user's other items, without replacement.

    Args:
        history: binary CSR [n_users, n_items] with sorted indices.
        users: int[B] the events' users.
        offsets: int[B] position of each event's item within its user's row (that item is left out).
        max_history: most items per row.
        rng: the sampling generator.

    Returns:
        (items int64[B, L], valid bool[B, L]), L <= max_history; invalid slots hold item 0.
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


def _category_targets(history: sp.csr_matrix, categories: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(p(c|i) float32[n_items, n_categories], each user's history distribution float32[n_users, n_categories]).

    Both as in `evaluation.diversity` (Steck 2018): zero rows for items without categories and users
    without categorised items.
    """
    share = category_shares(categories).toarray().astype(np.float32)
    return share, category_distribution(history, categories).astype(np.float32)


def _calibration_kl(logits: Any, share: Any, target: Any) -> Any:
    """Mean over the rows with a target of KL(t_k || (1 - mix) r_k + mix t_k), a torch scalar.

    r_k = sum_j softmax(logits_k)_j p(c|j) is the category distribution the softmax of row k predicts.

    Args:
        logits: float32[B, B] logits over the batch positives (masked columns -inf).
        share: float32[B, n_categories] p(c|j) of the batch positives.
        target: float32[B, n_categories] t_k, the history category distribution of row k's user
            (zero rows are left out).
    """
    import torch

    predicted = (1.0 - CALIBRATION_MIX) * (torch.softmax(logits, dim=1) @ share) + CALIBRATION_MIX * target
    tiny = torch.finfo(predicted.dtype).tiny
    kl = (target * (torch.log(target.clamp_min(tiny)) - torch.log(predicted.clamp_min(tiny)))).sum(dim=1)
    has_target = (target.sum(dim=1) > 0).to(kl.dtype)
    return (kl * has_target).sum() / has_target.sum().clamp(min=1.0)


def _towers(vectors: np.ndarray, p: TwoTowerParams, has_events: np.ndarray) -> Any:
    """The trainable towers as a torch module (torch is imported only when a model is fitted).

    Args:
        vectors: float32[n_items, d_text] frozen text vectors.
        p: the parameters.
        has_events: bool[n_items]; ID embeddings and offsets stay zero where False.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    def residual(width: int) -> tuple[nn.Linear, nn.Linear]:
        inner, outer = nn.Linear(p.dim, width), nn.Linear(width, p.dim)
        nn.init.zeros_(outer.weight)  # starts as the identity
        nn.init.zeros_(outer.bias)
        return inner, outer

    class Towers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("vectors", torch.from_numpy(vectors))
            self.register_buffer("warm", torch.from_numpy(has_events.astype(np.float32)))
            self.projection = nn.Linear(vectors.shape[1], p.dim)
            self.adapter = nn.ModuleList(residual(p.hidden)) if p.hidden > 0 else None
            self.ids = nn.Parameter(torch.zeros(len(vectors), p.dim)) if p.item_ids else None
            self.bias = nn.Parameter(torch.zeros(len(vectors))) if p.item_bias else None
            self.user_mlp = nn.ModuleList(residual(max(p.hidden, p.dim))) if p.user_mlp else None

        def items(self, items: Any = None) -> Any:
            """float32[k, dim] unit item embeddings of int64[k] items (all items when None)."""
            v = self.vectors if items is None else self.vectors[items]
            e = self.projection(v)
            if self.adapter is not None:
                e = e + self.adapter[1](F.gelu(self.adapter[0](e)))
            if self.ids is not None:
                ids = self.ids if items is None else self.ids[items]
                warm = self.warm if items is None else self.warm[items]
                e = e + ids * warm[:, None]
            return F.normalize(e, dim=1)

        def user(self, mean: Any) -> Any:
            """[B, dim] unit mean history embeddings -> [B, dim] unit user embeddings."""
            if self.user_mlp is None:
                return mean
            return F.normalize(mean + self.user_mlp[1](F.gelu(self.user_mlp[0](mean), approximate="tanh")), dim=1)

        def beta(self, items: Any) -> Any:
            """float32[k] logit offsets of int64[k] items (zeros without `item_bias`)."""
            if self.bias is None:
                return torch.zeros(len(items))
            return self.bias[items] * self.warm[items]

        def bias_array(self, temperature: float) -> np.ndarray | None:
            """float32[n_items] offsets in cosine units, centred on the warm items; cold items get 0 (the mean)."""
            if self.bias is None:
                return None
            bias = self.bias.detach().numpy().astype(np.float64)
            warm = has_events.astype(bool)
            centred = np.where(warm, bias - (bias[warm].mean() if warm.any() else 0.0), 0.0)
            return (temperature * centred).astype(np.float32)

        def user_arrays(self) -> dict[str, np.ndarray]:
            """The user MLP's weights by name ("in.weight", "in.bias", "out.weight", "out.bias")."""
            if self.user_mlp is None:
                return {}
            return {
                f"{part}.{kind}": getattr(layer, kind).detach().numpy().astype(np.float32)
                for part, layer in zip(("in", "out"), self.user_mlp, strict=True)
                for kind in ("weight", "bias")
            }

    return Towers()
