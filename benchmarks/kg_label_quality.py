"""How good are the KG labels? Each registered corpus's *training* split is KG-labelled (``kogner kg label``, gold
tags ignored) and, for every label text the corpus itself annotates ("disease", "cell line", "protein"), the KG
spans carrying that text are compared with the corpus's gold spans of it: exact-span precision and recall, and
the most frequent false positives. Training splits only: this measures the training data, it chooses nothing on
a test split. Labelling rules are judged here and by the dictionary floor on devel (``--devel``: the KG matcher
as a tagger, ``zero_shot.dictionary_tagger``), never on a test split.

    python benchmarks/kg_label_quality.py --kg ~/.cache/kogner/kg            # -> results/kg_label_quality.{json,md}
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from common import provenance, write_results
from zero_shot import dictionary_tagger

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document
from kogner.evaluate.metrics import evaluate_documents
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.labelling import LABELLING_VERSION, KGLabeller, LabelSummary

RESULTS = Path(__file__).parent / "results"


def spans(docs: list[Document], texts: dict[str, str] | None = None) -> set[tuple[int, int, int, str]]:
    """(sentence, start, end, label text) of every entity; ``texts`` maps gold labels to their label texts."""
    sentences = (s for d in docs for s in d.sentences)
    return {
        (i, e.start, e.end, texts[e.label] if texts else e.label)
        for i, s in enumerate(sentences)
        for e in s.entities
        if texts is None or e.label in texts
    }


def agreement(gold: list[Document], kg: list[Document], texts: dict[str, str], top: int = 8) -> dict[str, dict]:
    """Per label text of the corpus: gold and KG span counts, exact-span precision and recall, top false positives."""
    words = [s.tokens for d in gold for s in d.sentences]
    own = set(texts.values())
    want, found = spans(gold, texts), {x for x in spans(kg) if x[3] in own}
    out = {}
    for text in sorted(own):
        g, k = {x for x in want if x[3] == text}, {x for x in found if x[3] == text}
        hits = len(g & k)
        wrong = Counter(" ".join(words[i][a:b]) for i, a, b, _ in k - g)
        out[text] = {
            "gold": len(g), "kg": len(k), "precision": hits / len(k) if k else None,
            "recall": hits / len(g) if g else None, "false_positives": wrong.most_common(top),
        }  # fmt: skip
    return out


def markdown(report: dict) -> str:
    lines = [
        f"KG labels (v{report['labelling_version']}) against each corpus's own gold, training splits, exact span; "
        f"commit {report['commit'][:7]}, {report['machine']}: `{report['command']}`.",
        "",
        "| corpus | label text | gold spans | KG spans | precision | recall | most frequent false positives |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, texts in report["train"].items():
        for text, r in texts.items():
            if not r["kg"]:
                continue
            wrong = ", ".join(f"{w} ({n})" for w, n in r["false_positives"][:5])
            lines.append(
                f"| {name} | {text} | {r['gold']:,} | {r['kg']:,} | {r['precision']:.2f} | {r['recall']:.2f} "
                f"| {wrong} |"
            )
    if report.get("devel"):
        lines += ["", "| corpus | dictionary on devel: P | R | F1 |", "|---|---|---|---|"]
        for name, r in report["devel"].items():
            lines.append(f"| {name} | {100 * r['precision']:.1f} | {100 * r['recall']:.1f} | {100 * r['f1']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kg", type=Path, default=Path("~/.cache/kogner/kg").expanduser())
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    p.add_argument("--devel", action="store_true", help="also score the dictionary floor on each devel split")
    args = p.parse_args()
    labeller = KGLabeller.from_graph(KnowledgeGraph(args.kg), args.depth)
    report = {**provenance(), "labelling_version": LABELLING_VERSION, "depth": args.depth, "train": {}, "devel": {}}
    for name in args.corpora:
        info = CORPORA[name]
        gold = read_corpus(info.path("train")).documents
        report["train"][name] = agreement(gold, labeller.label(gold, LabelSummary()), info.labels)
        if args.devel:
            devel = read_corpus(info.path("devel")).documents
            micro = evaluate_documents(devel, dictionary_tagger(devel, info.labels, labeller)).micro
            report["devel"][name] = {"precision": micro.precision, "recall": micro.recall, "f1": micro.f1}
    write_results(RESULTS, "kg_label_quality", report, markdown(report))


if __name__ == "__main__":
    main()
