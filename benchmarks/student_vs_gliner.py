"""The kogner student against the ``gliner`` package (0.2.29): same encoder, same examples seen, same seed,
same scorer (exact span, exact type, micro F1 on the test split).

Both systems train on the same sentences with the same batch size, learning rates, warmup and clipping for the
same number of steps; both predict pre-tokenized, length-sorted test sentences (longest first, the peer too),
so the comparison is of models, not of input handling. Prediction speed is measured in one process, the two
systems alternating, median of ``--repeats``; peak RSS of prediction is measured in a fresh subprocess per
system. Records are merged into ``benchmarks/results/student_vs_gliner.json`` by (system, dataset, setting),
so corpora can be run in pieces; the Markdown table is rewritten from all records each time.

Run (gliner needs ``transformers<5.17`` and ``accelerate``, so use a separate environment)::

    python -m venv --system-site-packages .venv-bench
    .venv-bench/bin/pip install "gliner==0.2.29" accelerate "transformers<5.17"
    .venv-bench/bin/python benchmarks/student_vs_gliner.py --examples 6400
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from common import commit, machine, peak_rss_mib

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity
from kogner.encoder import resolve_encoder
from kogner.evaluate.metrics import evaluate_documents
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results"
LR_ENCODER, LR_HEADS, WARMUP, CLIP, WEIGHT_DECAY = 5e-5, 1e-3, 0.1, 1.0, 0.01


# ------------------------------------------------------------------ data
def test_documents(corpus: str, only: str | None = None) -> list[Document]:
    """Test documents, optionally keeping only gold mentions of one type (the zero-shot setting)."""
    docs = read_corpus(CORPORA[corpus].path("test")).documents
    if only is None:
        return docs
    return [
        d.with_sentences(s.with_entities(e for e in s.entities if e.label == only) for s in d.sentences) for d in docs
    ]


def gliner_examples(corpus: str, label_map: dict[str, str], listed: bool = True) -> list[dict]:
    """GLiNER's training format: inclusive word spans named by label text. ``listed``: every example lists
    all the corpus's label texts in ``ner_labels`` so mention-free sentences still teach "not a disease";
    otherwise GLiNER samples each example's label texts itself (its positives plus in-batch negatives)."""
    texts = sorted(set(label_map.values()))
    sentences = read_corpus(CORPORA[corpus].path("train")).sentences
    return [
        {
            "tokenized_text": list(s.tokens),
            "ner": [[e.start, e.end - 1, label_map[e.label]] for e in s.entities],
            **({"ner_labels": texts} if listed else {}),
        }
        for s in sentences
    ]


# ------------------------------------------------------------------ the two systems
class Student:
    name = "kogner-student"

    def __init__(self, model: KoGNER) -> None:
        self.model = model
        options = {k: v for k, v in model.config.to_dict().items() if k in ABLATABLE and v != ABLATABLE[k]}
        if options:  # an ablation run is its own system in the records
            self.name = Student.name + "[" + ",".join(f"{k}={v}" for k, v in sorted(options.items())) + "]"

    @classmethod
    def train(cls, corpus: str, steps: int, batch: int, seed: int, out: Path, **model_options) -> tuple[Student, float]:
        config = TrainConfig(
            corpora=[corpus], output=str(out), epochs=1000, max_steps=steps, batch_size=batch,
            lr_encoder=LR_ENCODER, lr_heads=LR_HEADS, warmup=WARMUP, grad_clip=CLIP, weight_decay=WEIGHT_DECAY,
            seed=seed, eval_every=steps, max_devel_sentences=300, device="cpu",
        )  # fmt: skip
        trainer = Trainer(config, ModelConfig(**model_options))
        started = time.perf_counter()
        state = trainer.fit()
        lines = (out / "metrics.jsonl").read_text().splitlines()
        rate = json.loads(lines[-1])["examples_per_s"]  # measured before the final devel evaluation
        print(f"  student: {state.examples_seen} examples, {time.perf_counter() - started:.0f} s, {rate:.1f} ex/s")
        return cls(KoGNER.from_pretrained(out / "last")), rate

    @staticmethod
    def train_throughput(corpus: str, steps: int, batch: int, seed: int, out: Path, warm: int = 5) -> float:
        """Examples/s of ``steps`` training steps after ``warm`` warm-up steps, from a fresh model."""
        config = TrainConfig(
            corpora=[corpus], output=str(out), epochs=1000, max_steps=warm + steps + 1, batch_size=batch,
            seed=seed, eval_every=10**9, max_devel_sentences=0, device="cpu",
        )  # fmt: skip
        stamps: dict[int, float] = {}

        def on_step(step: int) -> None:
            stamps[step] = time.perf_counter()
            if step == warm + steps:
                raise _Stop

        with contextlib.suppress(_Stop):
            Trainer(config, ModelConfig()).fit(on_step=on_step)
        return steps * batch / (stamps[warm + steps] - stamps[warm])

    @classmethod
    def load(cls, path: Path) -> Student:
        return cls(KoGNER.from_pretrained(path / "last"))

    def predict(self, sequences: list[tuple[str, ...]], labels: list[str], batch: int) -> list[list[Entity]]:
        self.model.clear_label_cache()
        found = self.model.predict_words(sequences, labels, batch_size=batch)
        return [[Entity(a, b, t, p) for a, b, t, p in spans] for spans in found]


class Peer:
    name = "gliner-0.2.29"
    learning_rates = (LR_ENCODER, LR_HEADS)  # encoder, others; --peer-lr sets the peer's own

    def __init__(self, model) -> None:
        self.model = model

    @staticmethod
    def build():
        from gliner import GLiNER, GLiNERConfig

        cfg = GLiNERConfig(model_name=str(resolve_encoder(ModelConfig().encoder)), span_mode="markerV0", max_width=12)
        return GLiNER.from_config(cfg, backbone_from_pretrained=True, local_files_only=True)

    @staticmethod
    def fit(model, data: list[dict], out: Path, steps: int, batch: int, seed: int, callbacks=()) -> None:
        """What ``GLiNER.train_model`` does, with our hyper-parameters and optional callbacks."""
        from gliner.model import _get_trainer_classes

        trainer_class, _ = _get_trainer_classes()
        lr_encoder, lr_others = Peer.learning_rates
        args = model.create_training_args(
            output_dir=str(out), learning_rate=lr_encoder, others_lr=lr_others, weight_decay=WEIGHT_DECAY,
            warmup_ratio=WARMUP, max_grad_norm=CLIP, per_device_train_batch_size=batch, max_steps=steps,
            save_strategy="no", logging_steps=50, use_cpu=True, dataloader_num_workers=0, seed=seed,
            data_seed=seed, report_to="none",
        )  # fmt: skip
        trainer = trainer_class(
            model=model, args=args, train_dataset=data, eval_dataset=None,
            data_collator=model._create_data_collator(),
            processing_class=model.data_processor.transformer_tokenizer, callbacks=list(callbacks),
        )  # fmt: skip
        trainer.train()

    @classmethod
    def train(cls, corpus: str, steps: int, batch: int, seed: int, out: Path) -> tuple[Peer, float]:
        torch.manual_seed(seed)
        model = cls.build()
        data = gliner_examples(corpus, CORPORA[corpus].labels)
        started = time.perf_counter()
        cls.fit(model, data, out, steps, batch, seed)
        seconds = time.perf_counter() - started
        rate = steps * batch / seconds
        print(f"  gliner: {steps * batch} examples, {seconds:.0f} s, {rate:.1f} ex/s")
        model.save_pretrained(str(out / "model"))
        return cls(model), rate

    @classmethod
    def train_throughput(cls, corpus: str, steps: int, batch: int, seed: int, out: Path, warm: int = 5) -> float:
        """Examples/s of ``steps`` training steps after ``warm`` warm-up steps, from a fresh model."""
        from transformers import TrainerCallback

        stamps: dict[int, float] = {}

        class Clock(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                stamps[state.global_step] = time.perf_counter()

        torch.manual_seed(seed)
        model = cls.build()
        data = gliner_examples(corpus, CORPORA[corpus].labels)
        cls.fit(model, data, out, warm + steps, batch, seed, callbacks=[Clock()])
        return steps * batch / (stamps[warm + steps] - stamps[warm])

    @classmethod
    def load(cls, path: Path) -> Peer:
        from gliner import GLiNER

        return cls(GLiNER.from_pretrained(str(path / "model"), local_files_only=True, load_tokenizer=True))

    @torch.inference_mode()
    def predict(
        self, sequences: list[tuple[str, ...]], labels: list[str], batch: int, threshold: float = 0.5
    ) -> list[list[Entity]]:
        model = self.model
        model.eval()
        collator = model.create_collator()
        order = sorted((i for i in range(len(sequences)) if sequences[i]), key=lambda i: -len(sequences[i]))
        out: list[list[Entity]] = [[] for _ in sequences]
        for b in range(0, len(order), batch):
            rows = order[b : b + batch]
            items = [{"tokenized_text": list(sequences[i]), "ner": None} for i in rows]
            collated = model.collate_batch(items, labels, collator)
            output = model.run_batch(collated, threshold=threshold, move_to_device=True)
            decoded = model.decode_batch(output, collated, threshold=threshold, flat_ner=True, multi_label=False)
            for i, spans in zip(rows, decoded, strict=True):
                out[i] = [Entity(s.start, s.end + 1, s.entity_type, s.score) for s in spans]
        return out


class _Stop(Exception):
    """Ends a throughput measurement early."""


SYSTEMS = {"student": Student, "gliner": Peer}
ABLATABLE = {"width_dim": ModelConfig.width_dim, "word_pooling": ModelConfig.word_pooling}


# ------------------------------------------------------------------ measuring
def score(system, docs: list[Document], label_map: dict[str, str], batch: int) -> dict[str, float]:
    """Exact-span, exact-type micro scores of ``system`` on ``docs`` with label texts from ``label_map``."""
    names = {text: name for name, text in label_map.items()}
    sentences = [s for d in docs for s in d.sentences]
    found = iter(system.predict([s.tokens for s in sentences], list(names), batch))
    pred = []
    for doc in docs:
        entities = ([Entity(e.start, e.end, names[e.label]) for e in next(found)] for _ in doc.sentences)
        pred.append(doc.with_sentences(s.with_entities(ents) for s, ents in zip(doc.sentences, entities, strict=True)))
    micro = evaluate_documents(docs, pred).micro
    return {"f1": micro.f1, "precision": micro.precision, "recall": micro.recall}


def speeds(systems: dict, sequences: list, labels: list[str], batch: int, repeats: int) -> dict[str, float]:
    """Median sentences/s of each system on the same sentences, the systems alternating in one process."""
    times: dict[str, list[float]] = {k: [] for k in systems}
    for system in systems.values():  # warm-up
        system.predict(sequences[: 2 * batch], labels, batch)
    for _ in range(repeats):
        for k, system in systems.items():
            started = time.perf_counter()
            system.predict(sequences, labels, batch)
            times[k].append(time.perf_counter() - started)
    return {k: len(sequences) / statistics.median(v) for k, v in times.items()}


def rss_of_prediction(system: str, path: Path, corpus: str, batch: int, threads: int) -> float:
    """Peak RSS (MiB) of a fresh process that loads ``system`` and predicts 1,000 test sentences."""
    cmd = [sys.executable, __file__, "rss", system, str(path), corpus, "--batch", str(batch), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_rss_mib"]


def rss_main(system: str, path: str, corpus: str, batch: int) -> None:
    model = SYSTEMS[system].load(Path(path))
    sequences = [s.tokens for d in test_documents(corpus) for s in d.sentences][:1000]
    model.predict(sequences, list(CORPORA[corpus].labels.values()), batch)
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


# ------------------------------------------------------------------ records
def merge(records: list[dict], path: Path) -> list[dict]:
    old = json.loads(path.read_text())["records"] if path.is_file() else []
    key = lambda r: (r["system"], r["dataset"], r["setting"])  # noqa: E731
    new_keys = {key(r) for r in records}
    merged = [r for r in old if key(r) not in new_keys] + records
    return sorted(merged, key=lambda r: (r["setting"], r["dataset"], r["system"]))


def table(records: list[dict]) -> str:
    lines = [
        "| setting | dataset | system | F1 | P | R | train ex/s | predict sent/s | peak RSS MiB | examples seen |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        rss = f"{r['peak_rss_mib']:.0f}" if r.get("peak_rss_mib") else "–"
        train = f"{r['train_examples_per_s']:.1f}" if r.get("train_examples_per_s") else "–"
        lines.append(
            f"| {r['setting']} | {r['dataset']} | {r['system']} | {100 * r['f1']:.1f} | {100 * r['precision']:.1f} "
            f"| {100 * r['recall']:.1f} | {train} | {r['predict_sentences_per_s']:.1f} | {rss} | {r['examples_seen']} |"
        )
    ratios = []
    by = {(r["setting"], r["dataset"], r["system"]): r for r in records}
    for (setting, dataset, system), r in sorted(by.items()):
        peer = by.get((setting, dataset, Peer.name))
        if system == Student.name and peer:
            ratios.append(
                f"| {setting} | {dataset} | {100 * (r['f1'] - peer['f1']):+.1f} "
                f"| {r['predict_sentences_per_s'] / peer['predict_sentences_per_s']:.2f}x "
                + (
                    f"| {r['train_examples_per_s'] / peer['train_examples_per_s']:.2f}x |"
                    if r.get("train_examples_per_s") and peer.get("train_examples_per_s")
                    else "| – |"
                )
            )
    if ratios:
        lines += ["", "| setting | dataset | F1 gain (points) | prediction speed-up | training speed-up |"]
        lines += ["|---|---|---|---|---|"]
        lines += ratios
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main
def settings_of(corpus: str) -> list[tuple[str, str, list[Document], dict[str, str]]]:
    """(setting, test dataset, gold documents, label map): supervised, plus NCBI-trained zero-shot on BC5CDR."""
    settings = [("supervised", corpus, test_documents(corpus), CORPORA[corpus].labels)]
    if corpus == "ncbi-disease":
        settings.append(("zero-shot", "bc5cdr", test_documents("bc5cdr", "Disease"), {"Disease": "disease"}))
    return settings


def throughputs(args: argparse.Namespace, corpus: str, run_dir: Path) -> dict[str, float]:
    """Training examples/s of each system from a fresh model, the systems alternating, median of repeats."""
    rates: dict[str, list[float]] = {key: [] for key in args.systems}
    for _ in range(args.repeats):
        for key in args.systems:
            out = run_dir / f"throughput-{key}"
            rates[key].append(SYSTEMS[key].train_throughput(corpus, args.throughput_steps, args.batch, args.seed, out))
    print(f"  training examples/s: { {k: [round(x, 1) for x in v] for k, v in rates.items()} }")
    return {key: statistics.median(v) for key, v in rates.items()}


def run(args: argparse.Namespace) -> None:
    """Train (or, with ``--measure``, load) both systems per corpus, then score and time them."""
    torch.set_num_threads(args.threads)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    path = results / "student_vs_gliner.json"
    steps = args.examples // args.batch
    base = {
        "seed": args.seed, "commit": commit(), "device": "cpu", "machine": machine(), "batch_size": args.predict_batch,
        "train_batch_size": args.batch, "examples_seen": steps * args.batch, "budget": args.budget,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }  # fmt: skip
    for corpus in args.corpora:
        print(f"== {corpus}: {steps} steps of {args.batch}")
        run_dir = Path(args.runs) / corpus
        trained, rates = {}, {}
        for key in args.systems:
            if args.measure:
                trained[key] = SYSTEMS[key].load(run_dir / key)
            else:
                options = args.student_options if key == "student" else {}
                trained[key], rates[key] = SYSTEMS[key].train(
                    corpus, steps, args.batch, args.seed, run_dir / key, **options
                )
        if args.measure:
            rates = throughputs(args, corpus, run_dir)
        old = (
            {(r["system"], r["dataset"], r["setting"]): r for r in json.loads(path.read_text())["records"]}
            if path.is_file()
            else {}
        )
        records = []
        for setting, dataset, docs, label_map in settings_of(corpus):
            sequences = [s.tokens for d in docs for s in d.sentences][: args.speed_sentences]
            speed = speeds(trained, sequences, list(label_map.values()), args.predict_batch, args.repeats)
            for key, system in trained.items():
                previous = old.get((system.name, dataset, setting))
                if args.measure and previous:  # keep the accuracy of the training run, refresh the timings
                    result = {k: previous[k] for k in ("f1", "precision", "recall", "examples_seen", "command")}
                else:
                    result = score(system, docs, label_map, args.predict_batch)
                rss = None
                if setting == "supervised":
                    rss = rss_of_prediction(key, run_dir / key, dataset, args.predict_batch, args.threads)
                record = {
                    **base, "system": system.name, "dataset": dataset, "setting": setting, **result,
                    "train_examples_per_s": rates[key], "predict_sentences_per_s": speed[key],
                    "speed_sentences": len(sequences), "peak_rss_mib": rss, "trained_on": corpus,
                    "timing": "quiet pass (--measure)" if args.measure else "during training run",
                    "timing_command": base["command"],
                    "learning_rates": list(Peer.learning_rates if key == "gliner" else (LR_ENCODER, LR_HEADS)),
                }  # fmt: skip
                print(f"  {setting} {dataset} {system.name}: F1 {100 * result['f1']:.1f}, {speed[key]:.1f} sent/s")
                records.append(record)
        merged = merge(records, path)
        path.write_text(json.dumps({"records": merged}, indent=2) + "\n")
        (results / "student_vs_gliner.md").write_text(table(merged))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "rss":
        p = argparse.ArgumentParser()
        p.add_argument("cmd"), p.add_argument("system"), p.add_argument("path"), p.add_argument("corpus")
        p.add_argument("--batch", type=int, default=32), p.add_argument("--threads", type=int, default=2)
        a = p.parse_args()
        torch.set_num_threads(a.threads)
        rss_main(a.system, a.path, a.corpus, a.batch)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", nargs="+", default=["ncbi-disease", "bc5cdr", "bc2gm", "jnlpba"])
    p.add_argument("--systems", nargs="+", default=["student", "gliner"], choices=list(SYSTEMS))
    p.add_argument("--examples", type=int, default=6400, help="training examples seen per system and corpus")
    p.add_argument("--batch", type=int, default=16, help="training batch size")
    p.add_argument("--predict-batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--speed-sentences", type=int, default=512)
    p.add_argument("--budget", default="cpu-reduced", help="label stored in each record")
    p.add_argument("--runs", default="runs/student_vs_gliner")
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--measure", action="store_true", help="load the models trained under --runs and time them")
    p.add_argument("--throughput-steps", type=int, default=20)
    p.add_argument("--peer-lr", nargs=2, type=float, metavar=("ENCODER", "OTHERS"), help="the peer's own rates")
    p.add_argument("--student-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. width_dim=0")
    args = p.parse_args()
    if args.peer_lr:
        Peer.learning_rates = tuple(args.peer_lr)
    args.student_options = {k: type(ABLATABLE[k])(v) for k, v in (o.split("=", 1) for o in args.student_option)}
    run(args)


if __name__ == "__main__":
    main()
