"""SASRec with full-softmax cross-entropy and text-aware items (Kang & McAuley 2018; Klenitskiy & Vasilev 2023).

Item i (index i + 1 in the network; 0 is padding) is represented by

    e_i = m_i · id_i + P v_i                   id_i float32[dim]: trainable ID embedding; m_i = 1 when the
                                               item has train events, else 0 (a new item is placed by its
                                               text alone); v_i float32[d_text]: its frozen unit text
                                               vector (`text` = true and the pipeline has an encoder);
                                               P [dim, d_text]: trainable projection (UniSRec-style)

A user's last `max_length` items (oldest first) plus learned position embeddings pass through
`layers` pre-norm causal self-attention blocks; the output h_t at position t scores every item as
h_t · e_i (weights tied). Training: every position of every train sequence predicts the next item,
loss = cross-entropy over the whole catalogue (no negative sampling), Adam, `epochs` passes or
`budget` seconds, whichever ends first.

Order at scoring time is read from the history row the pipeline gives: its recency weights
0.5^(n_after / half_life) fall with age, so the items sorted by weight ascending are the sequence
oldest first (the pipeline gives order-reading scorers a half-life when none is configured). So a
new event moves the next answer, in the order the events came. An item seen twice counts once, at
its larger weight (its latest position).

The fitted state is the network's parameters as named float32 arrays (no pickle); scoring runs the
network forward on CPU (`TORCH_THREADS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.data.schema import Interactions
from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.memory import DataShape
from prismrec.params import param
from prismrec.profiles.history import events_after

TORCH_THREADS = 2
SCORE_BATCH = 512  # users per forward pass at scoring time


@dataclass(frozen=True)
class SASRecParams:
    dim: int = param(64, "width of item, position and hidden vectors", min=8)
    layers: int = param(2, "self-attention blocks", min=1, max=8)
    heads: int = param(2, "attention heads (must divide dim)", min=1)
    max_length: int = param(50, "latest items of a history the network reads", min=2)
    dropout: float = param(0.2, "dropout in embeddings and blocks", min=0.0, max=0.9)
    epochs: int = param(30, "passes over the train sequences", min=1)
    budget: float = param(0.0, "stop training after this many seconds (0: no limit); checked after each batch",
                          min=0.0)  # fmt: skip
    batch_size: int = param(128, "sequences per step", min=1)
    learning_rate: float = param(1e-3, "Adam step size", min=1e-6)
    weight_decay: float = param(0.0, "Adam L2 penalty", min=0.0)
    text: bool = param(True, "add the projection of each item's frozen text vector when the pipeline has an [encoder]")
    seed: int = param(0, "seed of initialisation, dropout and batch order")


class SASRec(Scorer):
    name = "sasrec"
    Params = SASRecParams
    reads_order: ClassVar[bool] = True  # reads each history's order from its recency weights

    def peak_bytes(self, shape: DataShape) -> int:
        """Parameters with Adam's two moments and gradients, and one batch's logits over the catalogue (with their
        softmax gradient), float32."""
        p = self.params
        parameters = (shape.n_items + 1 + p.max_length) * p.dim + p.layers * 12 * p.dim * p.dim + 384 * p.dim
        logits = p.batch_size * p.max_length * (shape.n_items + 1)
        return 4 * (4 * parameters + 3 * logits) + 3 * shape.matrix_bytes

    def fit(self, train: Interactions, side: ItemSide | None = None) -> SASRec:
        """Train on each user's events in time order (ties: file order)."""
        self.sequences = user_sequences(train)
        return self.fit_matrix(train.matrix(binary=True), side)

    def _fit(self, history: sp.csr_matrix) -> None:
        import torch

        p = self.params
        if p.dim % p.heads:
            raise ConfigError(f"model 'sasrec': heads = {p.heads} must divide dim = {p.dim}")
        sequences = getattr(self, "sequences", None)
        if sequences is None:  # fitted from a matrix alone: no order, items in index order
            sequences = [history.indices[history.indptr[u] : history.indptr[u + 1]] for u in range(history.shape[0])]
        self.sequences = None
        has_events = np.asarray(history.sum(axis=0)).ravel() > 0
        threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(TORCH_THREADS)
        torch.use_deterministic_algorithms(True)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(p.seed)
                network = _network(self.n_items, self._text_vectors(), has_events, p)
                self.losses = np.asarray(_train(network, sequences, p, np.random.default_rng(p.seed)))
            self.weights = {name: value.detach().numpy().astype(np.float32).copy()
                            for name, value in network.state_dict().items()}  # fmt: skip
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)
        self._network = None

    def _text_vectors(self) -> np.ndarray | None:
        if not self.params.text or self.side.vectors is None:
            return None
        return np.asarray(self.side.vectors, dtype=np.float32)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        import torch

        network = self._loaded()
        scores = np.zeros((history.shape[0], self.n_items), dtype=np.float32)
        inputs = ordered_inputs(history, self.params.max_length)
        threads = torch.get_num_threads()
        torch.set_num_threads(TORCH_THREADS)
        try:
            with torch.no_grad():
                items = network.item_table()
                for start in range(0, len(inputs), SCORE_BATCH):
                    block = torch.from_numpy(inputs[start : start + SCORE_BATCH])
                    last = network.encode(block)[:, -1]
                    scores[start : start + len(block)] = (last @ items[1:].T).numpy()
        finally:
            torch.set_num_threads(threads)
        scores[np.diff(history.indptr) == 0] = 0.0
        return scores

    def _loaded(self) -> Any:
        """The network built from the saved arrays (once per process), in evaluation mode."""
        if getattr(self, "_network", None) is None:
            import torch

            has_events = self.weights["id_mask"].ravel()[1:] > 0
            if "text.weight" in self.weights and self._text_vectors() is None:
                raise ConfigError("model 'sasrec' was fitted with item text vectors; load it with its pipeline")
            network = _network(self.n_items, self._text_vectors(), has_events, self.params)
            network.load_state_dict({name: torch.from_numpy(value) for name, value in self.weights.items()})
            self._network = network.eval()
        return self._network

    def state(self) -> dict[str, np.ndarray]:
        return {f"net.{name}": value for name, value in self.weights.items()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = {name.removeprefix("net."): np.asarray(value) for name, value in arrays.items()
                        if name.startswith("net.")}  # fmt: skip
        self._network = None


def user_sequences(train: Interactions) -> list[np.ndarray]:
    """Per user index, int64 item indices oldest first (time, then file order)."""
    order = np.lexsort((-events_after(train), train.users))
    bounds = np.r_[0, np.cumsum(train.user_counts())]
    items = train.items[order]
    return [items[bounds[u] : bounds[u + 1]] for u in range(train.n_users)]


def ordered_inputs(history: sp.csr_matrix, length: int) -> np.ndarray:
    """int64[n, length]: each row's items by weight ascending (oldest first), the latest `length`, shifted by one
    (0 = padding) and left-padded."""
    history = history.tocsr()
    inputs = np.zeros((history.shape[0], length), dtype=np.int64)
    for row in range(history.shape[0]):
        start, stop = history.indptr[row], history.indptr[row + 1]
        items, weights = history.indices[start:stop], history.data[start:stop]
        keep = weights > 0
        items, weights = items[keep], weights[keep]
        latest = items[np.lexsort((items, weights))][-length:]
        if len(latest):
            inputs[row, -len(latest) :] = latest + 1
    return inputs


def _training_rows(sequences: list[np.ndarray], length: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) int64[n, length]: each sequence of ≥ 2 items, its latest length + 1, shifted by one and
    left-padded; targets are the next items (0 where there is none)."""
    rows = [s[-(length + 1) :] + 1 for s in sequences if len(s) >= 2]
    inputs = np.zeros((len(rows), length), dtype=np.int64)
    targets = np.zeros((len(rows), length), dtype=np.int64)
    for row, sequence in enumerate(rows):
        inputs[row, -(len(sequence) - 1) :] = sequence[:-1]
        targets[row, -(len(sequence) - 1) :] = sequence[1:]
    return inputs, targets


def _train(network: Any, sequences: list[np.ndarray], p: SASRecParams, rng: np.random.Generator) -> list[float]:
    """Adam on the full-softmax next-item loss; returns the mean loss of every epoch."""
    import torch
    import torch.nn.functional as F

    inputs, targets = _training_rows(sequences, p.max_length)
    if not len(inputs):
        raise ConfigError("model 'sasrec': no user has two or more train events; nothing to learn the order from")
    optimiser = torch.optim.Adam(network.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay)
    started, losses = time.perf_counter(), []
    network.train()
    for _ in range(p.epochs):
        total, count = 0.0, 0
        for batch in np.array_split(rng.permutation(len(inputs)), max(1, -(-len(inputs) // p.batch_size))):
            x, y = torch.from_numpy(inputs[batch]), torch.from_numpy(targets[batch])
            hidden = network.encode(x)
            mask = y > 0
            logits = hidden[mask] @ network.item_table()[1:].T  # [positions, n_items]
            loss = F.cross_entropy(logits, y[mask] - 1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            positions = int(mask.sum())
            total, count = total + float(loss.detach()) * positions, count + positions
            if p.budget and time.perf_counter() - started > p.budget:
                break
        losses.append(total / max(count, 1))
        if p.budget and time.perf_counter() - started > p.budget:
            break
    network.eval()
    return losses


def _network(n_items: int, vectors: np.ndarray | None, has_events: np.ndarray, p: SASRecParams) -> Any:
    import torch
    from torch import nn

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ids = nn.Embedding(n_items + 1, p.dim, padding_idx=0)
            nn.init.normal_(self.ids.weight, std=0.02)
            mask = np.r_[0.0, has_events.astype(np.float32)][:, None]
            self.register_buffer("id_mask", torch.from_numpy(mask.astype(np.float32)))
            self.text = None
            if vectors is not None:
                padded = np.vstack([np.zeros((1, vectors.shape[1]), np.float32), vectors])
                self.register_buffer("vectors", torch.from_numpy(padded), persistent=False)  # kept by the pipeline
                self.text = nn.Linear(vectors.shape[1], p.dim, bias=False)
            self.positions = nn.Embedding(p.max_length, p.dim)
            nn.init.normal_(self.positions.weight, std=0.02)
            block = nn.TransformerEncoderLayer(p.dim, p.heads, 4 * p.dim, p.dropout, activation="gelu",
                                               batch_first=True, norm_first=True)  # fmt: skip
            self.blocks = nn.TransformerEncoder(block, p.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(p.dim)
            self.drop = nn.Dropout(p.dropout)
            causal = torch.triu(torch.full((p.max_length, p.max_length), float("-inf")), diagonal=1)
            self.register_buffer("causal", causal, persistent=False)

        def item_table(self) -> Any:
            """float32[n_items + 1, dim]: e_i for every item (row 0: padding)."""
            table = self.ids.weight * self.id_mask
            return table + self.text(self.vectors) if self.text is not None else table

        def encode(self, inputs: Any) -> Any:
            """float32[n, length, dim] from int64[n, length] left-padded item indices + 1."""
            hidden = self.item_table()[inputs] * (p.dim**0.5) + self.positions.weight[None, -inputs.shape[1] :]
            hidden = self.drop(hidden) * (inputs > 0).unsqueeze(-1)
            hidden = self.blocks(hidden, mask=self.causal[: inputs.shape[1], : inputs.shape[1]])
            return self.norm(hidden)

    return Network()
