"""TransR (Lin et al., AAAI 2015): entities in R^d, relations in R^k with a projection M_r in R^{k x d};
score(h, r, t) = -|| M_r h + r - M_r t ||_2. Representations plus a stateless interaction, as in PyKEEN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm


def transr_interaction(h: torch.Tensor, r: torch.Tensor, m: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``-|| M_r h + r - M_r t ||``: h, t (..., d), r (..., k), m (..., k, d); or h, t (B, n, d) for n
    candidates that share their row's relation r (B, k), m (B, k, d), scored by one ``bmm`` (no copy of M_r
    per candidate)."""
    diff = h - t
    if diff.dim() == m.dim():
        projected = torch.bmm(diff, m.transpose(1, 2)) + r.unsqueeze(1)
    else:
        projected = (m @ diff.unsqueeze(-1)).squeeze(-1) + r
    return -torch.linalg.vector_norm(projected, dim=-1)


@dataclass
class TransRConfig:
    dim: int = 64
    relation_dim: int = 32
    epochs: int = 20
    batch_size: int = 512
    lr: float = 5e-3
    margin: float = 1.0
    negatives: int = 4
    seed: int = 0
    # The ops are small: on 2 cores one thread trains faster in wall time than two, at a third of the CPU
    # time (the other thread mostly spins). Set 0 to keep the process's setting.
    threads: int = 1


class TransR(nn.Module):
    def __init__(self, num_nodes: int, num_relations: int, config: TransRConfig) -> None:
        super().__init__()
        self.config = config
        self.entity = nn.Embedding(num_nodes, config.dim, sparse=True)  # a batch touches few rows: SparseAdam
        self.relation = nn.Embedding(num_relations, config.relation_dim)
        nn.init.xavier_uniform_(self.entity.weight)
        nn.init.xavier_uniform_(self.relation.weight)
        eye = torch.eye(config.relation_dim, config.dim)  # start as a plain truncation, as TransR initialises
        self.projection = nn.Parameter(eye.repeat(num_relations, 1, 1) + 0.01 * torch.randn(num_relations, *eye.shape))

    def _entities(self, idx: torch.Tensor) -> torch.Tensor:
        e = self.entity(idx)
        return e / e.norm(dim=-1, keepdim=True).clamp(min=1.0)  # ||e|| <= 1, TransR's constraint

    def score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Scores of ``(B,)`` triples, or of ``(B, n)`` heads/tails that share the relation of their row."""
        return transr_interaction(self._entities(h), self.relation(r), self.projection[r], self._entities(t))

    def score_all(self, h: torch.Tensor | None, r: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
        """Scores of every node as the missing tail (``t is None``) or head: ``(B, N)``.

        Nodes are projected once per distinct relation of the batch (batches sorted by relation stay cheap).
        """
        every = self._entities(torch.arange(self.entity.num_embeddings))
        known = self._entities(h if t is None else t)
        m, rel = self.projection[r], self.relation(r)
        anchor = torch.einsum("bkd,bd->bk", m, known) + (rel if t is None else -rel)
        out = torch.empty(len(r), len(every))
        relations, inverse = torch.unique(r, return_inverse=True)
        for u, relation in enumerate(relations.tolist()):
            rows = inverse == u
            projected = every @ self.projection[relation].T  # (N, k)
            out[rows] = -torch.cdist(anchor[rows], projected)
        return out


def train_transr(
    triples: np.ndarray,
    num_nodes: int,
    num_relations: int,
    config: TransRConfig,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TransR:
    """Margin ranking loss against ``negatives`` corrupted heads or tails per triple (uniform sampling)."""
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _train(triples, num_nodes, num_relations, config, on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train(triples, num_nodes, num_relations, config: TransRConfig, on_epoch) -> TransR:
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    model = TransR(num_nodes, num_relations, config)
    # Dense Adam would update all N x d entity rows every step; SparseAdam updates the rows the batch touched.
    optimizers = [
        torch.optim.SparseAdam([model.entity.weight], lr=config.lr),
        torch.optim.Adam([model.relation.weight, model.projection], lr=config.lr),
    ]
    data = torch.as_tensor(triples, dtype=torch.long)
    for epoch in tqdm(range(config.epochs), desc="TransR", unit="epoch", disable=None):
        order = torch.randperm(len(data), generator=gen)
        total = 0.0
        for b in range(0, len(data), config.batch_size):
            batch = data[order[b : b + config.batch_size]]
            h, r, t = batch[:, 0], batch[:, 1], batch[:, 2]
            n = config.negatives
            corrupt = torch.randint(num_nodes, (len(batch), n), generator=gen)
            head_side = torch.rand(len(batch), n, generator=gen) < 0.5
            nh = torch.where(head_side, corrupt, h[:, None])
            nt = torch.where(head_side, t[:, None], corrupt)
            pos = model.score(h, r, t)
            neg = model.score(nh, r, nt)
            loss = torch.relu(config.margin - pos[:, None] + neg).mean()
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            total += loss.item() * len(batch)
        if on_epoch is not None:
            on_epoch(epoch, total / len(data))
    return model.eval()
