"""A trained model's card: its README, rendered from ``card.json`` (data, recipe, cost, strict test F1, the
label texts it was trained on and the licences of what it learned from)."""

from __future__ import annotations

import json

from kogner import __version__
from kogner.data.corpora import CORPORA
from kogner.kg.sources import LICENCES


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _scores(card: dict) -> list[str]:
    rows = [
        [s["corpus"], s["sentences"], f"{100 * s['precision']:.1f}", f"{100 * s['recall']:.1f}",
         f"**{100 * s['f1']:.1f}**", ", ".join(f"{t} {100 * f:.1f}" for t, f in sorted(s["per_type"].items()))]
        for s in card["scores"]
    ]  # fmt: skip
    return [
        "## Test F1 (strict: exact span and exact type, micro, threshold 0.5)",
        "",
        "Each registered test split, asked with that corpus's registry label texts. Nothing was chosen on a test "
        "split.",
        "",
        *_table(["corpus", "sentences", "P", "R", "F1", "per type"], rows),
    ]


def _data(card: dict) -> list[str]:
    gold = [
        [name, n, ", ".join(CORPORA[name].labels.values()) if name in CORPORA else "", CORPORA[name].licence
         if name in CORPORA else "see its source"]
        for name, n in card["gold_corpora"].items()
    ]  # fmt: skip
    kg = card["kg"]
    return [
        "## Data",
        "",
        *_table(["gold corpus", "training sentences", "label texts", "licence"], gold),
        "",
        f"KG-labelled data (`kogner kg label`, gold tags ignored): {len(card['kg_files'])} files made from the "
        f"training texts above, {sum(card['kg_files'].values()):,} sentences, {len(card['label_texts']['kg'])} "
        "label texts (KG types in several phrasings and their ancestors' names).",
        "",
        f"KG: {kg['nodes']:,} nodes, {kg['aliases']:,} aliases, {kg['triples']:,} triples. Its sources' licences: "
        + "; ".join(f"{name}: {text}" for name, text in LICENCES.items())
        + ".",
    ]


def render_card(card: dict) -> str:
    """The model card as Markdown."""
    train = card["recipe"]["train"]
    minutes = card["train_seconds"] / 60
    lines = [
        f"# {card['name']}",
        "",
        f"A kogner span model (kogner {__version__}) for biomedical NER with any label text, made by "
        "`kogner pretrain`: every registered gold corpus plus KG-labelled data from their training texts.",
        "",
        "```python",
        "from kogner.model import KoGNER",
        "",
        f'model = KoGNER.from_pretrained("{card["name"]}")',
        'model.predict("BRCA1 mutations cause breast cancer.", ["gene or gene product", "disease"])',
        "```",
        "",
        *_scores(card),
        "",
        *_data(card),
        "",
        "## Recipe and cost",
        "",
        f"- {card['steps']:,} steps of {train['batch_size']} sentences ({card['examples_seen']:,} examples seen), "
        f"best devel checkpoint at step {card['best_step']:,}",
        f"- training wall time {minutes:.1f} min; peak RSS {card['peak_rss_mib'] / 1024:.2f} GiB; {card['machine']}",
        "",
        "```json",
        json.dumps(card["recipe"], indent=2),
        "```",
        "",
        "## Label texts it was trained on",
        "",
        "Gold types: " + ", ".join(f"`{t}`" for t in card["label_texts"]["gold"]) + ".",
        "",
        "KG-labelled: " + ", ".join(f"`{t}`" for t in card["label_texts"]["kg"]) + ".",
        "",
    ]
    return "\n".join(lines)
