"""What training with the KG adds: dictionary matches of every training sentence (augmentation input, never
from gold labels) and the KG nodes of gold mentions (distillation targets), computed once per run."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm import tqdm

from kogner.kg.graph import kg_types
from kogner.model.knowledge import Knowledge, Match
from kogner.model.student import SpanStudent, StudentOutput, distill_loss
from kogner.train.batching import CorpusData


class KGTraining:
    """Per-corpus matches and gold links, and the per-batch tensors the student's KG losses need."""

    def __init__(self, knowledge: Knowledge, corpora: Sequence[CorpusData], max_width: int) -> None:
        self.knowledge, self.max_width = knowledge, max_width
        self.matches: list[list[list[Match]]] = []
        self.links: list[list[list[Match]]] = []
        for corpus in corpora:
            sentences = corpus.train
            bar = tqdm(sentences, desc=f"KG matches ({corpus.name})", unit="sent", disable=None, leave=False)
            self.matches.append([knowledge.matches(s.tokens) for s in bar])
            self.links.append(self._gold_links(corpus))

    def _gold_links(self, corpus: CorpusData) -> list[list[Match]]:
        """Each gold mention's top-1 node of its type, when the linker scores it above the threshold."""
        out: list[list[Match]] = [[] for _ in corpus.train]
        by_type: dict[str, list[tuple[int, int, int, str]]] = {}
        for i, sent in enumerate(corpus.train):
            for e in sent.entities:
                by_type.setdefault(e.label, []).append((i, e.start, e.end, sent.entity_text(e)))
        for label, mentions in by_type.items():
            types = kg_types(corpus.labels.get(label, label)) or kg_types(label)
            found = self.knowledge.linker.link_many([m[3] for m in mentions], types, k=1)
            for (i, start, end, _), cands in zip(mentions, found, strict=True):
                if cands and cands[0].score >= self.knowledge.link_threshold and end - start <= self.max_width:
                    out[i].append((start, end, cands[0].node))
        return out

    def inputs(self, corpus: int, indices: Sequence[int], width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        vectors, mask = self.knowledge.tensors([self.matches[corpus][i] for i in indices], width)
        return vectors.to(device), mask.to(device)

    def loss(
        self, student: SpanStudent, output: StudentOutput, corpus: int, indices: Sequence[int], labels: Sequence[str]
    ) -> torch.Tensor:
        """The distillation MSE of one batch (label type vectors and linked gold mentions)."""
        teacher = self.knowledge.teacher
        device = output.logits.device
        label_targets = torch.stack([teacher.type_vector(t) for t in labels]).to(device)
        index, nodes = [], []
        for row, i in enumerate(indices):
            for start, end, node in self.links[corpus][i]:
                index.append((row, start, end - start - 1))
                nodes.append(node)
        if not index:
            return distill_loss(student, output, label_targets, None, None)
        span_index = torch.tensor(index, device=device)
        return distill_loss(student, output, label_targets, span_index, teacher.vectors(nodes).to(device))
