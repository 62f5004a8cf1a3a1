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

    def __init__(
        self, knowledge: Knowledge, corpora: Sequence[CorpusData], max_width: int, link_threshold: float
    ) -> None:
        self.knowledge, self.max_width, self.link_threshold = knowledge, max_width, link_threshold
        self.matches: list[list[list[Match]]] = []
        self.links: list[list[list[Match]]] = []
        for corpus in corpora:
            sentences = corpus.train
            bar = tqdm(sentences, desc=f"KG matches ({corpus.name})", unit="sent", disable=None, leave=False)
            self.matches.append([knowledge.matches(s.tokens) for s in bar])
            self.links.append(self._kg_links(corpus) if corpus.families is not None else self._gold_links(corpus))
        self.label_targets = self._kg_label_targets(corpora)

    def _kg_links(self, corpus: CorpusData) -> list[list[Match]]:
        """KG-labelled data names its nodes: each labelled span's ``kg_id`` is its distillation target."""
        kg = self.knowledge.teacher.kg
        return [
            sorted(
                {(e.start, e.end, kg.row(e.kg_id)) for e in s.entities if e.kg_id and e.end - e.start <= self.max_width}
            )
            for s in corpus.train
        ]

    def _kg_label_targets(self, corpora: Sequence[CorpusData], per_label: int = 256) -> dict[str, torch.Tensor]:
        """Teacher vectors of KG label texts ("neoplasm", "amino acid"): the text's own embedding followed by the
        mean structure (GNN and TransR parts) of up to ``per_label`` nodes that carry it in the labelled data,
        so that hundreds of label texts each get a type vector of their own members, not the nearest of 18."""
        teacher, kg = self.knowledge.teacher, self.knowledge.teacher.kg
        members: dict[str, set[int]] = {}
        for corpus in corpora:
            if corpus.families is None:
                continue
            for sent in corpus.train:
                for e in sent.entities:
                    if e.kg_id and len(found := members.setdefault(e.label, set())) < per_label:
                        found.add(kg.row(e.kg_id))
        targets = {}
        for label, nodes in members.items():
            text = teacher.text_vector(label)
            structure = teacher.vectors(sorted(nodes))[:, text.numel() :].mean(0)
            targets[label] = torch.cat([text, structure])
        return targets

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
                if cands and cands[0].score >= self.link_threshold and end - start <= self.max_width:
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
        label_targets = torch.stack([self.label_targets.get(t, teacher.type_vector(t)) for t in labels]).to(device)
        index, nodes = [], []
        for row, i in enumerate(indices):
            for start, end, node in self.links[corpus][i]:
                index.append((row, start, end - start - 1))
                nodes.append(node)
        if not index:
            return distill_loss(student, output, label_targets, None, None)
        span_index = torch.tensor(index, device=device)
        return distill_loss(student, output, label_targets, span_index, teacher.vectors(nodes).to(device))
