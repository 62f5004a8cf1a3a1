"""``kogner train``, ``kogner predict`` and ``kogner quickstart``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import (
    BackendOption,
    BatchOption,
    LabelsOption,
    LinkThresholdOption,
    ModelOption,
    MultiLabelOption,
    NestedOption,
    ShortFormsOption,
    ThresholdOption,
    console,
    err_console,
    print_json,
    print_table,
)  # fmt: skip
from kogner.cli.data import TokenizerOpt, _tokenizer
from kogner.cli.labels import parse_labels, predict_options
from kogner.errors import KognerError
from kogner.model.options import DEFAULTS

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "abstract.txt"


def train(
    corpora: Annotated[list[str], typer.Argument(help="Registered corpora or IOB training files.")],
    output: Annotated[Path, typer.Option(help="Run directory: best/, last/, metrics.jsonl.")] = Path("runs/kogner"),
    config: Annotated[Path | None, typer.Option(help="JSON file with training (and 'model') options.")] = None,
    label: Annotated[list[str] | None, typer.Option(help="TYPE=text label texts (needed for files).")] = None,
    encoder: Annotated[str | None, typer.Option(help="Hugging Face name or local path of the encoder.")] = None,
    epochs: Annotated[int | None, typer.Option()] = None,
    max_steps: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr_encoder: Annotated[float | None, typer.Option()] = None,
    lr_heads: Annotated[float | None, typer.Option()] = None,
    eval_every: Annotated[int | None, typer.Option()] = None,
    max_train_sentences: Annotated[int | None, typer.Option(help="Subsample each corpus (quick runs).")] = None,
    corpus_exponent: Annotated[
        float | None, typer.Option(help="Corpus share of batches ~ size ** exponent (1: by size, 0: equal).")
    ] = None,
    kg_share: Annotated[
        float | None, typer.Option(help="Share of batches of all KG-labelled files together (0-1, exclusive).")
    ] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 ... (default: cuda if available).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT/last with its optimizer state.")] = False,
    kg: Annotated[Path | None, typer.Option(help="A built KG with its teacher (kogner kg build + embed).")] = None,
    distill: Annotated[float | None, typer.Option(help="Distillation weight lambda (needs --kg).")] = None,
    augment: Annotated[bool, typer.Option(help="Entity-aware augmentation from KG matches (needs --kg).")] = False,
) -> None:
    """Train the span student on one or more corpora (with --kg: KoGNER distillation and augmentation)."""
    from kogner.model.config import ModelConfig
    from kogner.train.trainer import TrainConfig, Trainer

    options = json.loads(config.read_text()) if config else {}
    model_options = options.pop("model", {})
    overrides = {
        "epochs": epochs, "max_steps": max_steps, "batch_size": batch_size, "lr_encoder": lr_encoder,
        "lr_heads": lr_heads, "eval_every": eval_every, "max_train_sentences": max_train_sentences,
        "corpus_exponent": corpus_exponent, "kg_share": kg_share, "seed": seed, "device": device,
        "distill_lambda": distill,
    }  # fmt: skip
    options.update({k: v for k, v in overrides.items() if v is not None})
    options.update(corpora=corpora, output=str(output))
    if label:
        labels = parse_labels(label)
        if not isinstance(labels, dict):
            raise KognerError("--label takes TYPE=text pairs")
        options["labels"] = {c: labels for c in corpora}
    if encoder:
        model_options["encoder"] = encoder
    if kg:  # the KG belongs to the model: an augmented model needs it at inference too
        model_options["kg"] = str(kg)
    if augment:
        model_options["augment"] = True
    trainer = Trainer(TrainConfig.from_dict(options), ModelConfig.from_dict(model_options))
    state = trainer.fit(resume=resume)
    err_console.print(f"best devel F1 {100 * state.best_f1:.1f} at step {state.best_step}; model in {output / 'best'}")


def pretrain(
    out: Annotated[
        Path | None, typer.Option(help="Where the model is installed (default: the named-model cache).")
    ] = None,
    run_dir: Annotated[Path, typer.Option(help="Training run: best/, last/, metrics.jsonl, KG labels.")] = Path(
        "runs/kogner-bio"
    ),
    kg: Annotated[Path | None, typer.Option(help="A built KG (default: $KOGNER_KG or ~/.cache/kogner/kg).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Steps (default: the recipe's for the device).")] = None,
    seed: Annotated[int, typer.Option()] = 1,
    device: Annotated[str | None, typer.Option(help="cpu, cuda ... (default: cuda if available).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in RUN_DIR from its last checkpoint.")] = False,
) -> None:
    """Train the general model (every registered corpus + KG-labelled data) and install it as kogner-bio."""
    import torch

    from kogner.kg.graph import default_kg_dir
    from kogner.model.checkpoints import GENERAL_MODEL, models_dir
    from kogner.train.pretrain import pretrain
    from kogner.train.recipes import general_recipe

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    config = general_recipe(run_dir, run_dir / "kg-labels", device, max_steps, seed)
    target = out or models_dir() / GENERAL_MODEL
    card = pretrain(config, kg or default_kg_dir(), target, resume=resume)
    table = [[s.corpus, f"{100 * s.f1:.1f}"] for s in card.scores]
    print_table("test F1 (strict)", ["corpus", "F1"], table)
    err_console.print(
        f"installed {target} ({card.examples_seen:,} examples, {card.train_seconds / 60:.1f} min); "
        f"its model card: {target / 'README.md'}"
    )


def predict(
    src: Annotated[Path, typer.Argument(help="Input: any supported format, or a .txt file of raw text.")],
    dst: Annotated[Path, typer.Argument(help="Output file; format from its name or --to.")],
    model: ModelOption,
    labels: LabelsOption = None,
    threshold: ThresholdOption = DEFAULTS.threshold,
    to: Annotated[str | None, typer.Option(help="Output format.")] = None,
    fmt: Annotated[str | None, typer.Option("--from", help="Input format.")] = None,
    tokenizer: TokenizerOpt = None,
    batch_size: BatchOption = DEFAULTS.batch_size,
    nested: NestedOption = not DEFAULTS.flat,
    multi_label: MultiLabelOption = DEFAULTS.multi_label,
    kg: Annotated[Path | None, typer.Option(help="A built KG with its teacher: entities get KG ids.")] = None,
    link_threshold: LinkThresholdOption = DEFAULTS.link_threshold,
    short_forms: ShortFormsOption = DEFAULTS.short_forms,
    backend: BackendOption = "torch",
) -> None:
    """Annotate a file with a trained model (long documents are windowed, never truncated)."""
    from kogner.data.formats import read_corpus, write_corpus
    from kogner.data.tokenize import text_to_document
    from kogner.io import read_utf8
    from kogner.model.api import KoGNER

    options = predict_options(labels, model, threshold=threshold, nested=nested, multi_label=multi_label,
                              batch_size=batch_size, link_threshold=link_threshold,
                              short_forms=short_forms)  # fmt: skip
    if src.suffix == ".txt" and fmt is None:
        text = read_utf8(src)
        documents = [text_to_document(src.stem, text, _tokenizer(tokenizer) or "word")]
    else:
        documents = read_corpus(src, fmt, tokenizer=_tokenizer(tokenizer)).documents
    kogner = KoGNER.from_pretrained(model, kg=kg, backend=backend)
    predicted = kogner.predict_documents(documents, options, progress=True)
    dropped = write_corpus(predicted, dst, to)
    n = sum(len(s.entities) for d in predicted for s in d.sentences)
    err_console.print(f"wrote {dst}: {len(predicted)} documents, {n - dropped} entities")


def quickstart(
    output: Annotated[Path, typer.Option(help="Where the quick model is trained (reused when present).")] = Path(
        "runs/quickstart"
    ),
    text: Annotated[Path | None, typer.Option(help="Text to annotate (default: the bundled example abstract).")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
    max_steps: Annotated[int | None, typer.Option(help="Steps of the quick recipe (default: its own).")] = None,
) -> None:
    """Annotate an abstract with kogner-bio if installed, else with a quick model trained once (minutes)."""
    from kogner.model.api import KoGNER
    from kogner.train.quickstart import DEMO_LABELS, quick_model

    chosen = quick_model(output, max_steps=max_steps, say=err_console.print)
    err_console.print(f"model: {chosen.path}, {chosen.how}")
    kogner = KoGNER.from_pretrained(chosen.path)
    content = (text or EXAMPLE).read_text(encoding="utf-8")
    found = kogner.predict(content, list(DEMO_LABELS))[0]
    if json_out:
        print_json([p.to_dict() for p in found])
        return
    console.print(content, markup=False, highlight=False)
    for p in found:
        console.print(f"{p.start:>5}-{p.end:<5} {p.label:<22} {p.score:.3f}  {p.text}", markup=False, highlight=False)
