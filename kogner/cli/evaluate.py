"""``kogner evaluate``: exact-span scores of a prediction file against gold."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import (
    BatchOption,
    ShortFormsOption,
    ThresholdOption,
    print_json,
    print_table,
    report_repairs,
)
from kogner.cli.data import TokenizerOpt, _tokenizer
from kogner.cli.labels import parse_labels
from kogner.data.corpora import get_corpus
from kogner.data.formats import read_corpus
from kogner.data.iob import Corpus
from kogner.errors import KognerError
from kogner.evaluate import bootstrap_ci, evaluate_documents, paired_bootstrap, sentence_counts
from kogner.model.options import DEFAULTS, PredictOptions


def evaluate(
    gold: Annotated[Path | None, typer.Option(help="Gold annotations, any supported format.")] = None,
    pred: Annotated[Path | None, typer.Option(help="Predicted annotations over the same documents and tokens.")] = None,
    model: Annotated[str | None, typer.Option(help="Checkpoint to predict with (instead of --pred).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Registered corpus as gold (instead of --gold).")] = None,
    split: Annotated[str, typer.Option(help="Split of --dataset.")] = "test",
    labels: Annotated[list[str] | None, typer.Option(help="TYPE=text label texts for --model.")] = None,
    threshold: ThresholdOption = DEFAULTS.threshold,
    batch_size: BatchOption = DEFAULTS.batch_size,
    short_forms: ShortFormsOption = DEFAULTS.short_forms,
    baseline: Annotated[
        Path | None, typer.Option(help="A second prediction file: paired bootstrap of PRED vs BASELINE.")
    ] = None,
    gold_format: Annotated[str | None, typer.Option(help="Gold format (default: from the file name).")] = None,
    pred_format: Annotated[str | None, typer.Option(help="Prediction format (default: from the file name).")] = None,
    tokenizer: TokenizerOpt = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the 95% CI (0 = none).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    strict: Annotated[bool, typer.Option(help="Refuse repairable defects instead of fixing them.")] = False,
) -> None:
    """Exact-span, exact-type micro, per-type and macro precision/recall/F1."""
    tok = _tokenizer(tokenizer)
    if (gold is None) == (dataset is None):
        raise KognerError("give exactly one of --gold FILE and --dataset NAME")
    if (pred is None) == (model is None):
        raise KognerError("give exactly one of --pred FILE and --model DIR")
    label_map = get_corpus(dataset).labels if dataset else {}
    if labels:
        parsed = parse_labels(labels)
        label_map = parsed if isinstance(parsed, dict) else {t: t for t in parsed}
    gold = get_corpus(dataset).path(split) if dataset else gold
    gold_docs = read_corpus(gold, gold_format, tokenizer=tok, strict=strict)
    report_repairs(gold_docs.repairs)
    if model is not None:
        from kogner.model.api import KoGNER

        if not label_map:
            raise KognerError("--model needs label texts: --labels TYPE=text (or a registered --dataset)")
        options = PredictOptions(label_map, threshold, batch_size=batch_size, short_forms=short_forms)
        predicted = KoGNER.from_pretrained(model).predict_documents(gold_docs.documents, options, progress=True)
        pred_docs = Corpus(predicted, [], str(model))
        pred = Path(model)
    else:
        pred_docs = read_corpus(pred, pred_format, tokenizer=tok, strict=strict)
        report_repairs(pred_docs.repairs)
    scores = evaluate_documents(gold_docs.documents, pred_docs.documents)
    result = scores.to_dict()
    counts = sentence_counts(gold_docs.documents, pred_docs.documents) if bootstrap or baseline else None
    if bootstrap:
        result["bootstrap"] = bootstrap_ci(counts, bootstrap, seed).to_dict()
    if baseline is not None:
        base_docs = read_corpus(baseline, pred_format, tokenizer=tok, strict=strict)
        test = paired_bootstrap(
            counts, sentence_counts(gold_docs.documents, base_docs.documents), bootstrap or 1000, seed
        )
        result["paired_bootstrap"] = {"baseline": str(baseline), **test.to_dict()}
    if json_out:
        print_json(result)
        return
    rows = [[t, p.precision, p.recall, p.f1, p.tp, p.fp, p.fn] for t, p in sorted(scores.per_type.items())]
    m = scores.micro
    rows.append(["micro", m.precision, m.recall, m.f1, m.tp, m.fp, m.fn])
    rows.append(["macro F1", "", "", scores.macro_f1, "", "", ""])
    print_table(f"{pred} vs {gold}", ["type", "precision", "recall", "f1", "tp", "fp", "fn"], rows)
    if "bootstrap" in result:
        b = result["bootstrap"]
        print(f"micro F1 95% CI [{b['low']:.4f}, {b['high']:.4f}] ({b['samples']} resamples)")
    if "paired_bootstrap" in result:
        t = result["paired_bootstrap"]
        ci = f"95% CI [{t['low']:+.4f}, {t['high']:+.4f}]"
        print(f"F1 difference vs {baseline}: {t['delta']:+.4f}, {ci}, p = {t['p_value']:.4f}")
