"""Link prediction plumbing shared by TransR and the GNN: a seeded held-out split and filtered ranking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Split:
    """Triples as ``(n, 3)`` int64 arrays of (head, relation, tail)."""

    train: np.ndarray
    test: np.ndarray


def split_triples(triples: np.ndarray, test_share: float = 0.05, seed: int = 0) -> Split:
    """Hold out ``test_share`` of the triples, keeping in training every test triple whose head or tail would
    otherwise never be seen (an unseen node cannot be ranked fairly)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(triples))
    n_test = round(len(triples) * test_share)
    test_idx, train_idx = order[:n_test], order[n_test:]
    seen = np.zeros(int(triples[:, [0, 2]].max()) + 1, dtype=bool)
    seen[triples[train_idx, 0]] = seen[triples[train_idx, 2]] = True
    ok = seen[triples[test_idx, 0]] & seen[triples[test_idx, 2]]
    return Split(triples[np.concatenate([train_idx, test_idx[~ok]])], triples[test_idx[ok]])


# score(heads, relations, tails=None) -> (B, N) scores of every node as tail; heads=None -> every node as head
Scorer = Callable[[torch.Tensor | None, torch.Tensor, torch.Tensor | None], torch.Tensor]


@torch.inference_mode()
def filtered_ranks(score: Scorer, test: np.ndarray, known: np.ndarray, batch: int = 256) -> np.ndarray:
    """Filtered rank of the true tail and of the true head of each test triple (2 ranks per triple).

    Other true answers (any triple in ``known``) are removed before ranking; ties count half (the
    "realistic" rank of PyKEEN).
    """
    tails_of: dict[tuple[int, int], list[int]] = {}
    heads_of: dict[tuple[int, int], list[int]] = {}
    for h, r, t in known.tolist():
        tails_of.setdefault((h, r), []).append(t)
        heads_of.setdefault((r, t), []).append(h)
    ranks = []
    test = test[np.argsort(test[:, 1], kind="stable")]  # batches of one relation score fastest
    for side in ("tail", "head"):
        for b in range(0, len(test), batch):
            chunk = torch.as_tensor(test[b : b + batch])
            h, r, t = chunk[:, 0], chunk[:, 1], chunk[:, 2]
            scores = score(h, r, None) if side == "tail" else score(None, r, t)
            true = t if side == "tail" else h
            target = scores.gather(1, true[:, None])
            for i, (hh, rr, tt) in enumerate(chunk.tolist()):
                others = tails_of[(hh, rr)] if side == "tail" else heads_of[(rr, tt)]
                scores[i, others] = float("-inf")
            scores.scatter_(1, true[:, None], target)
            greater = (scores > target).sum(1).float()
            equal = (scores == target).sum(1).float() - 1
            ranks.append((greater + 1 + equal / 2).numpy())
    return np.concatenate(ranks)


def rank_metrics(ranks: np.ndarray) -> dict[str, float]:
    return {
        "mrr": float(np.mean(1.0 / ranks)),
        "hits@1": float(np.mean(ranks <= 1)),
        "hits@10": float(np.mean(ranks <= 10)),
        "ranked": len(ranks),
    }
