"""The spatial teacher: a two-layer graph network over the KG (R-GCN or a graph transformer from
torch_geometric), node text vectors as input, pretrained by link prediction with a DistMult decoder (a sampled
softmax over many negatives by default: one corrupted triple per positive left it near chance, MRR 0.0014)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import RGCNConv, TransformerConv
from tqdm import tqdm


@dataclass
class GNNConfig:
    kind: Literal["rgcn", "transformer"] = "transformer"  # R-GCN costs 6x more CPU per step here
    hidden: int = 128
    bases: int = 8  # R-GCN basis decomposition
    heads: int = 2  # graph transformer attention heads
    steps: int = 200  # full-graph steps: 200 reach TransR's held-out MRR with the softmax loss (50: 0.0055)
    batch_size: int = 8192
    lr: float = 1e-2
    dropout: float = 0.1
    seed: int = 0
    # "softmax": each positive against ``negatives`` nodes shared by the batch, on both sides, cross-entropy
    # (the 1-vs-many objective of GNN link prediction); "bce": one corrupted head or tail per positive
    loss: Literal["softmax", "bce"] = "softmax"
    negatives: int = 256


def graph_data(x: torch.Tensor, triples: np.ndarray, num_relations: int) -> Data:
    """A PyG ``Data`` whose edges are the triples in both directions (inverse relations get ids +R)."""
    t = torch.as_tensor(triples, dtype=torch.long)
    src = torch.cat([t[:, 0], t[:, 2]])
    dst = torch.cat([t[:, 2], t[:, 0]])
    rel = torch.cat([t[:, 1], t[:, 1] + num_relations])
    return Data(x=x, edge_index=torch.stack([src, dst]), edge_type=rel, num_nodes=len(x))


class GraphEncoder(nn.Module):
    def __init__(self, in_dim: int, num_relations: int, config: GNNConfig) -> None:
        super().__init__()
        self.config = config
        self.input = nn.Linear(in_dim, config.hidden)
        r2 = 2 * num_relations
        if config.kind == "rgcn":
            self.convs = nn.ModuleList(
                RGCNConv(config.hidden, config.hidden, r2, num_bases=config.bases) for _ in range(2)
            )
            self.relation_embedding = None
        elif config.kind == "transformer":
            h = config.hidden
            self.relation_embedding = nn.Embedding(r2, h)
            self.convs = nn.ModuleList(
                TransformerConv(h, h // config.heads, heads=config.heads, edge_dim=h, root_weight=True)
                for _ in range(2)
            )
        else:
            raise ValueError(f"unknown GNN kind {config.kind!r}")

    def forward(self, data: Data) -> torch.Tensor:
        z = F.dropout(F.relu(self.input(data.x)), self.config.dropout, self.training)
        for i, conv in enumerate(self.convs):
            if self.relation_embedding is None:
                out = conv(z, data.edge_index, data.edge_type)
            else:
                out = conv(z, data.edge_index, self.relation_embedding(data.edge_type))
            z = z + out if i else out  # a residual on the second layer keeps the text signal
            if i < len(self.convs) - 1:
                z = F.dropout(F.relu(z), self.config.dropout, self.training)
        return z


class LinkPredictor(nn.Module):
    """Encoder + DistMult decoder ``<z_h, w_r, z_t>``."""

    def __init__(self, in_dim: int, num_relations: int, config: GNNConfig) -> None:
        super().__init__()
        self.encoder = GraphEncoder(in_dim, num_relations, config)
        self.relation = nn.Parameter(torch.ones(num_relations, config.hidden))

    def score(self, z: torch.Tensor, h, r, t) -> torch.Tensor:
        return (z[h] * self.relation[r] * z[t]).sum(-1)

    def scorer(self, z: torch.Tensor):
        def score_all(h, r, t):
            anchor = (z[h] if t is None else z[t]) * self.relation[r]
            return anchor @ z.T

        return score_all


def train_gnn(
    x: torch.Tensor,
    triples: np.ndarray,
    num_relations: int,
    config: GNNConfig,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[LinkPredictor, torch.Tensor]:
    """Pretrain by link prediction (``config.loss``); returns the model and the final node vectors
    ``(N, hidden)`` computed without dropout."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    data = graph_data(x, triples, num_relations)
    model = LinkPredictor(x.size(1), num_relations, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    positives = torch.as_tensor(triples, dtype=torch.long)
    loss_of = _softmax_loss if config.loss == "softmax" else _bce_loss
    for step in tqdm(range(config.steps), desc=f"GNN ({config.kind})", unit="step", disable=None):
        model.train()
        batch = positives[torch.randint(len(positives), (config.batch_size,), generator=gen)]
        z = model.encoder(data)
        loss = loss_of(model, z, batch, len(x), config.negatives, gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step, loss.item())
    model.eval()
    with torch.inference_mode():
        z = model.encoder(data)
    return model, z


def _bce_loss(model: LinkPredictor, z, batch, n: int, negatives: int, gen) -> torch.Tensor:
    """BCE of each positive against one corrupted head or tail."""
    h, r, t = batch[:, 0], batch[:, 1], batch[:, 2]
    corrupt = torch.randint(n, (len(batch),), generator=gen)
    head_side = torch.rand(len(batch), generator=gen) < 0.5
    nh, nt = torch.where(head_side, corrupt, h), torch.where(head_side, t, corrupt)
    logits = torch.cat([model.score(z, h, r, t), model.score(z, nh, r, nt)])
    target = torch.cat([torch.ones(len(batch)), torch.zeros(len(batch))])
    return F.binary_cross_entropy_with_logits(logits, target)


def _softmax_loss(model: LinkPredictor, z, batch, n: int, negatives: int, gen) -> torch.Tensor:
    """Cross-entropy of the true tail (and, symmetrically, head) against ``negatives`` random nodes shared by
    the batch: the ranking that evaluation measures, with many negatives per forward pass of the encoder."""
    h, r, t = batch[:, 0], batch[:, 1], batch[:, 2]
    sampled = z[torch.randint(n, (negatives,), generator=gen)]  # (K, d)
    loss = 0.0
    for anchor, true in ((z[h] * model.relation[r], z[t]), (z[t] * model.relation[r], z[h])):
        logits = torch.cat([(anchor * true).sum(-1, keepdim=True), anchor @ sampled.T], 1)  # (B, 1 + K)
        loss = loss + F.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
    return loss / 2
