"""Training loop: BCE over span x label cells, AdamW (encoder and heads at their own rates), warmup then
linear decay, clipping, devel evaluation keeping the best checkpoint, early stopping, exact resume."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from kogner.data.records import Entity
from kogner.data.tokenize import split_sentence
from kogner.errors import KognerError
from kogner.evaluate.metrics import evaluate_documents
from kogner.io import atomic_dir, atomic_open
from kogner.model.api import KoGNER
from kogner.model.collate import collate_words, span_targets
from kogner.model.config import ModelConfig
from kogner.model.knowledge import Knowledge
from kogner.model.options import DEFAULT_THRESHOLD
from kogner.model.student import kg_cells, span_loss, supervised_cells
from kogner.train.batching import (
    CorpusData,
    gold_label_texts,
    kg_span_families,
    kg_with_own_gold,
    kg_without_gold_texts,
    plan_epoch,
    read_training_corpus,
    window_long_sentences,
)
from kogner.train.knowledge import KGTraining


@dataclass
class TrainConfig:
    """Hyper-parameters of one run (saved as ``train_config.json`` in the output directory)."""

    corpora: list[str] = field(default_factory=lambda: ["ncbi-disease"])
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # per corpus: {type: label text} overrides
    output: str = "runs/kogner"
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 16
    max_batch_words: int | None = None  # padded words a batch may hold (long sentences: smaller batches)
    lr_encoder: float = 5e-5
    lr_heads: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1
    eval_every: int = 250
    patience: int = 4
    negatives: int = 2
    corpus_exponent: float = 1.0  # corpus share of batches ~ size ** exponent (0 = equal shares)
    kg_labels: int = 24  # label texts per batch of KG-labelled data (`kogner kg label`)
    kg_share: float | None = None  # share of batches of all KG-labelled data together (None: by corpus_exponent)
    kg_unmatched_weight: float = 0.1  # loss weight of KG label texts on spans the dictionary did not match
    # the same for a label text a gold corpus of the run also teaches ("disease"; None: kg_unmatched_weight). The
    # gold corpus annotates every mention of its types, the dictionary about half: 0 leaves that label's negatives
    # to the gold data instead of calling the mentions the dictionary missed "not a disease"
    kg_gold_unmatched_weight: float | None = None
    kg_holdout: float = 0.0  # share of KG label texts kept out of training (stable by text: never trained)
    label_variants: float = 0.0  # share of gold batches naming their types by KG variants ("disorder")
    kg_gold_texts: bool = True  # False: KG-labelled data does not teach the gold corpora's label texts
    # a KG-labelled sentence that a gold corpus of the run annotates takes its gold for that corpus's label texts
    # (:func:`kg_with_own_gold`: the dictionary's "disease" and the corpus's never disagree on one sentence).
    # The default since commit e5ac439 (README, "Own gold on own text"): held-out devel F1 of three leave-one-out
    # runs +0.1 on average, the training corpora's devel F1 +1.8 to +3.1
    kg_own_gold: bool = True
    # KG sentences drawn by (rarest family's rarity) ** kg_balance (0: uniform), and KG batch label slots for the
    # type phrasings ("DNA", "cell line"), one family at a time (0: none). Chosen on held-out devel F1 of four
    # leave-one-out runs (README, zero-shot section): JNLPBA 27.1 -> 39.6, BC5CDR 55.2 -> 57.8, NCBI-disease
    # 41.1 -> 43.2, BC2GM 45.6 -> 45.5 against 0 and 0 (with the word split of ModelConfig)
    kg_balance: float = 0.5
    kg_type_labels: int = 10
    max_train_sentences: int | None = None
    max_devel_sentences: int | None = 500
    threshold: float = DEFAULT_THRESHOLD  # devel F1 at the prediction default
    device: str | None = None
    distill_lambda: float = 0.0  # weight of the distillation MSE (0 = off; needs ModelConfig.kg)
    link_threshold: float = 0.8  # linker score a gold mention needs to become a distillation target

    def __post_init__(self) -> None:  # the one check of each setting, whichever entry point built the config
        if self.max_steps is not None and self.max_steps < 1:
            raise KognerError(f"--max-steps must be at least 1, not {self.max_steps}")
        if self.kg_share is not None and not 0.0 < self.kg_share < 1.0:
            raise KognerError(f"kg_share must lie strictly between 0 and 1, not {self.kg_share}")
        for name in ("kg_unmatched_weight", "kg_gold_unmatched_weight"):
            if (weight := getattr(self, name)) is not None and not 0.0 <= weight <= 1.0:
                raise KognerError(f"{name} must lie between 0 and 1, not {weight}")
        if not 0.0 <= self.label_variants <= 1.0:
            raise KognerError(f"label_variants must lie between 0 and 1, not {self.label_variants}")
        if not 0.0 <= self.kg_balance <= 2.0:
            raise KognerError(f"kg_balance must lie between 0 and 2, not {self.kg_balance}")
        if not 0 <= self.kg_type_labels <= self.kg_labels:
            raise KognerError(
                f"kg_type_labels must lie between 0 and kg_labels ({self.kg_labels}), not {self.kg_type_labels}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if moved := sorted(unknown & {"kg", "augment"}):
            raise KognerError(
                f"{', '.join(moved)}: model options now (the KG belongs to the model): put them under 'model'"
            )
        if unknown:
            raise KognerError(f"unknown training options: {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_f1: float = -1.0
    best_step: int = 0
    evals_without_gain: int = 0
    examples_seen: int = 0
    train_seconds: float = 0.0  # wall time up to the last checkpoint, over every resumed part of the run


def autocast(device: torch.device):
    """bf16 autocast on CUDA, full precision elsewhere (CPU bf16 is slower than fp32 on most CPUs)."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def _lr_factor(step: int, total: int, warmup: float) -> float:
    warm = max(1, int(total * warmup))
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


def unmatched_weights(labels: Sequence[str], gold_texts: frozenset[str], config: TrainConfig) -> torch.Tensor:
    """(L,) loss weight of each label of a KG-labelled batch on the spans the dictionary did not match: the gold
    weight for a label text a gold corpus of the run teaches, the KG weight for the others."""
    gold = config.kg_unmatched_weight if config.kg_gold_unmatched_weight is None else config.kg_gold_unmatched_weight
    return torch.tensor([gold if label in gold_texts else config.kg_unmatched_weight for label in labels])


class Trainer:
    """Owns one run: data, optimizer, state and the output directory (``last/``, ``best/``, ``metrics.jsonl``)."""

    def __init__(
        self, config: TrainConfig, model_config: ModelConfig | None = None, model: KoGNER | None = None
    ) -> None:
        self.config = config
        self.out = Path(config.output)
        torch.manual_seed(config.seed)
        model_config = model.config if model is not None else model_config or ModelConfig()
        knowledge = self._knowledge(model_config, config.distill_lambda > 0)
        if knowledge is not None and model is None:  # the KG's folder and vector size, in a copy of the caller's
            model_config = replace(model_config, kg=str(Path(model_config.kg).resolve()), teacher_dim=knowledge.dim)
        self.model = model or KoGNER.from_config(model_config)
        self.model.knowledge = knowledge or self.model.knowledge
        device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(device)
        self.corpora: list[CorpusData] = [
            read_training_corpus(
                c,
                config.labels.get(c),
                config.max_train_sentences,
                config.max_devel_sentences,
                config.seed,
                config.kg_holdout,
            )
            for c in config.corpora
        ]
        if not config.kg_gold_texts:
            self.corpora = kg_without_gold_texts(self.corpora)
        if config.kg_own_gold:
            self.corpora = kg_with_own_gold(self.corpora)
        # gold corpora only: their types are a checkpoint's default labels (KG-labelled data teaches hundreds of
        # label texts, listed in its summary file, not a set to predict by default)
        self.model.train_labels = {c.name: c.labels for c in self.corpora if c.families is None}
        self.gold_texts = gold_label_texts(self.corpora)
        split = self.model.config.word_split
        for corpus in self.corpora:  # the words prediction will read (ModelConfig.word_split), then windows
            words = [split_sentence(s, split) for s in corpus.train] if split else corpus.train
            corpus.train = window_long_sentences(words, self.model.windows)
        self.kg = (
            KGTraining(knowledge, self.corpora, self.model.config.max_width, config.link_threshold)
            if knowledge
            else None
        )
        student = self.model.student
        encoder_params = [p for n, p in student.named_parameters() if n.startswith(("encoder.", "label_encoder."))]
        head_params = [p for n, p in student.named_parameters() if not n.startswith(("encoder.", "label_encoder."))]
        self.base_lrs = [config.lr_encoder, config.lr_heads]
        self.optimizer = torch.optim.AdamW(
            [{"params": encoder_params, "lr": config.lr_encoder}, {"params": head_params, "lr": config.lr_heads}],
            weight_decay=config.weight_decay,
        )
        self.state = TrainState()
        self._clock = (time.perf_counter(), 0.0)  # (start of this fit, train_seconds before it)
        self.steps_per_epoch = len(self.plan(0))
        self.total_steps = min(config.max_steps or math.inf, self.steps_per_epoch * config.epochs)

    def plan(self, epoch: int) -> list:
        """The batches of ``epoch`` (:func:`plan_epoch`: the same on every resume)."""
        cfg = self.config
        return plan_epoch(
            self.corpora, cfg.batch_size, cfg.negatives, cfg.seed, epoch, cfg.corpus_exponent, cfg.kg_labels,
            cfg.max_batch_words, cfg.kg_share, cfg.label_variants, cfg.kg_balance, cfg.kg_type_labels,
        )  # fmt: skip

    # ---------------------------------------------------------------- checkpoints
    @staticmethod
    def _knowledge(model_config: ModelConfig, distill: bool) -> Knowledge | None:
        """The KG and teacher a run needs (augmentation, distillation), from the one place that names it:
        ``ModelConfig.kg``."""
        if not (model_config.augment or distill):
            return None
        if not model_config.kg:
            raise KognerError("distillation and augmentation need a KG with its teacher (--kg FOLDER)")
        knowledge = Knowledge(model_config.kg)
        if model_config.teacher_dim and model_config.teacher_dim != knowledge.dim:
            raise KognerError(
                f"{model_config.kg}: teacher vectors have {knowledge.dim} dims, the model {model_config.teacher_dim}"
            )
        return knowledge

    def save_last(self) -> None:
        with atomic_dir(self.out / "last") as tmp:
            self.model.write_files(tmp)
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            save_file({"torch_rng": torch.get_rng_state()}, tmp / "rng.safetensors")
            (tmp / "trainer_state.json").write_text(json.dumps(asdict(self.state), indent=2))
            (tmp / "train_config.json").write_text(json.dumps(asdict(self.config), indent=2))

    def resume(self) -> bool:
        """Continue from ``last/`` (or ``last.old/`` if a save was interrupted); False when there is none."""
        last = next(
            (p for p in (self.out / "last", self.out / "last.old") if (p / "trainer_state.json").is_file()), None
        )
        if last is None:
            return False
        saved = asdict(TrainConfig.from_dict(json.loads((last / "train_config.json").read_text())))
        if json.loads(json.dumps(saved)) != json.loads(json.dumps(asdict(self.config))):
            raise KognerError(f"{last}: the run was started with other options; resume with the same ones")
        self.model.student.load_state_dict(load_file(last / "model.safetensors"))
        self.optimizer.load_state_dict(
            torch.load(last / "optimizer.pt", weights_only=True, map_location=self.model.device)
        )
        torch.set_rng_state(load_file(last / "rng.safetensors")["torch_rng"])
        self.state = TrainState(**json.loads((last / "trainer_state.json").read_text()))
        self._truncate_log(self.state.step)
        return True

    def _truncate_log(self, step: int) -> None:
        path = self.out / "metrics.jsonl"
        if path.is_file():
            keep = [line for line in path.read_text().splitlines() if json.loads(line).get("step", 0) <= step]
            with atomic_open(path) as fh:
                fh.write("".join(line + "\n" for line in keep))

    def log(self, record: dict[str, Any]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

    # ---------------------------------------------------------------- steps
    def train_step(
        self, ci: int, indices: tuple[int, ...], labels: tuple[str, ...], renames: tuple[tuple[str, str], ...] = ()
    ) -> float:
        """One optimiser step on a planned batch (``renames``: the label texts it calls by a variant)."""
        model, cfg = self.model, self.model.config
        corpus = self.corpora[ci]
        sentences = [corpus.train[i] for i in indices]
        words = [s.tokens for s in sentences]
        names = {text: text for text in corpus.labels.values()} | dict(renames)
        entities = [[Entity(e.start, e.end, names[corpus.labels[e.label]]) for e in s.entities] for s in sentences]
        batch = collate_words(model.subwords, words, cfg.max_subwords).to(model.device)
        with autocast(model.device):  # every forward, the distillation heads' included
            label_vectors = model.student.label_vectors(**model.tokenize_labels(labels))
            width = batch.word_mask.size(1)
            knowledge = self.kg.inputs(ci, indices, width, model.device) if self.kg and model.config.augment else None
            output = model.student(batch, label_vectors, knowledge)
            distill = None
            if self.kg is not None and self.config.distill_lambda > 0:
                distill = self.kg.loss(model.student, output, ci, indices, labels)
        targets = span_targets(entities, labels, width, cfg.max_width).to(model.device)
        if corpus.families is not None:
            matched, compatible = kg_span_families(entities, labels, corpus.families, width, cfg.max_width)
            unmatched = unmatched_weights(labels, self.gold_texts, self.config)
            matched, compatible, unmatched = (t.to(model.device) for t in (matched, compatible, unmatched))
            cells = kg_cells(output.span_mask, targets, matched, compatible, unmatched)
        else:
            own_names = {names[t] for t in corpus.own_labels}
            own = torch.tensor([label in own_names for label in labels], device=model.device)
            cells = supervised_cells(output.span_mask, targets, own)
        loss = span_loss(output, targets, cells)
        if distill is not None:
            loss = loss + self.config.distill_lambda * distill
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.student.parameters(), self.config.grad_clip)
        factor = _lr_factor(self.state.step, int(self.total_steps), self.config.warmup)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        self.optimizer.step()
        return loss.item()

    def evaluate(self) -> dict[str, float]:
        """Micro F1 on each corpus's devel sample (and their mean)."""
        self.model.clear_label_cache()
        scores = {}
        for corpus in self.corpora:
            if corpus.devel:
                pred = self.model.predict_documents(corpus.devel, corpus.labels, threshold=self.config.threshold)
                scores[corpus.name] = evaluate_documents(corpus.devel, pred).micro.f1
        self.model.student.train()
        self.model.clear_label_cache()
        if scores:
            scores["mean"] = sum(scores.values()) / len(scores)
        return scores

    def fit(self, resume: bool = False, on_step: Callable[[int], None] | None = None) -> TrainState:
        """Train to the end (or early stop); ``on_step`` is called after every step (tests use it to interrupt)."""
        if resume and self.resume():
            tqdm.write(f"resumed at step {self.state.step}", file=sys.stderr)
        else:
            self._truncate_log(0)  # a fresh run in a used folder starts a fresh log
        self.out.mkdir(parents=True, exist_ok=True)
        cfg, state = self.config, self.state
        self.model.student.train()
        bar = tqdm(total=int(self.total_steps), initial=state.step, desc="training", unit="step", disable=None)
        started, seen_at_start = time.perf_counter(), state.examples_seen
        self._clock = (started, state.train_seconds)
        stop = state.step >= self.total_steps or state.evals_without_gain >= cfg.patience  # ended, early or not
        while not stop and state.epoch < cfg.epochs:
            plans = self.plan(state.epoch)
            while state.batch_in_epoch < len(plans):
                plan = plans[state.batch_in_epoch]
                loss = self.train_step(plan.corpus, plan.sentences, plan.labels, plan.renames)
                state.step += 1
                state.batch_in_epoch += 1
                state.examples_seen += len(plan.sentences)
                rate = (state.examples_seen - seen_at_start) / max(1e-9, time.perf_counter() - started)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", ex_s=f"{rate:.1f}")
                record: dict[str, Any] = {
                    "step": state.step,
                    "epoch": state.epoch,
                    "loss": loss,
                    "examples_per_s": rate,
                }
                done = state.step >= self.total_steps
                if state.step % cfg.eval_every == 0 or done:
                    stop = self._checkpoint(record) or done
                self.log(record)
                if on_step is not None:
                    on_step(state.step)
                if stop:
                    break
            else:
                state.epoch += 1
                state.batch_in_epoch = 0
        bar.close()
        return state

    def _checkpoint(self, record: dict[str, Any]) -> bool:
        """Evaluate, keep the best model, save ``last/``; True when patience is exhausted."""
        state = self.state
        scores = self.evaluate()
        started, before = self._clock
        state.train_seconds = before + time.perf_counter() - started
        record.update({f"devel_f1/{k}": v for k, v in scores.items()})
        current = scores.get("mean")
        if current is None or current > state.best_f1:  # without devel data the latest model is the best
            state.best_f1 = state.best_f1 if current is None else current
            state.best_step, state.evals_without_gain = state.step, 0
            self.model.save_pretrained(self.out / "best")
        else:
            state.evals_without_gain += 1
        self.save_last()
        per_corpus = ", ".join(f"{name} {100 * f1:.1f}" for name, f1 in scores.items() if name != "mean")
        shown = f"{100 * current:.1f} ({per_corpus})" if current is not None else "- (no devel data)"
        best = f"best {100 * max(state.best_f1, 0):.1f} at step {state.best_step}"
        tqdm.write(f"step {state.step}/{int(self.total_steps)}  devel F1 {shown}  {best}", file=sys.stderr)
        return state.evals_without_gain >= self.config.patience
