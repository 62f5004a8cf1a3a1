"""The full-budget supervised table: ``benchmarks/results/supervised_full.md`` from ``supervised_full.jsonl``, and
with ``--readme`` the same table between the README's ``supervised results`` markers (never typed by hand)::

    python benchmarks/supervised_full_report.py --readme
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from common import write_readme_block

RESULTS = Path(__file__).parent / "results" / "supervised_full.jsonl"
# published figures users compare with: strict (exact span) entity-level F1 on each corpus's test split
ANCHORS = {
    "ncbi-disease": "PubMedBERT 87.8 (BLURB); gliner peer with our encoder 84.6 (10 GPU epochs, our run)",
    "bc5cdr": "PubMedBERT chemical 93.3, disease 85.6 (BLURB, separate models); scispaCy en_ner_bc5cdr_md 84.3",
    "bc2gm": "compact 6-layer biomedical BERTs about 86.7",
    "jnlpba": "scispaCy en_ner_jnlpba_md 72.1",
}
TARGETS = {"ncbi-disease": 0.86, "bc5cdr": 0.85, "bc2gm": 0.80, "jnlpba": 0.73}
GAP = 0.015  # the general model within 1.5 F1 of the single-corpus student


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def summarise(records: list[dict]) -> dict[tuple[str, str], dict]:
    """(corpus, system) -> median F1 over seeds and the cost of the runs behind it (latest schedule wins)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[r["corpus"], r["system"]].append(r)
    rows = {}
    for key, runs in groups.items():
        latest = [r for r in runs if r["schedule"] == runs[-1]["schedule"]]
        rows[key] = {
            "f1": statistics.median(r["f1"] for r in latest), "seeds": len(latest), "schedule": latest[-1]["schedule"],
            "epochs": statistics.median(r["epochs"] for r in latest),
            "examples": statistics.median(r["examples_seen"] for r in latest),
            "minutes": statistics.median(r["train_seconds"] for r in latest) / 60,
            "per_type": latest[-1]["per_type"], "commit": latest[-1]["commit"], "machine": latest[-1]["machine"],
        }  # fmt: skip
    return rows


def _verdict(corpus: str, rows: dict) -> str:
    best = max((rows[corpus, s]["f1"] for s in ("student-single", "kogner-bio") if (corpus, s) in rows), default=None)
    target = TARGETS.get(corpus)
    if best is None or target is None:
        return ""
    met = "met" if best >= target else "missed"
    return f">= {100 * target:.1f}: {met}" + ("" if len({s for c, s in rows if c == corpus}) == 2 else " (so far)")


def markdown(records: list[dict]) -> str:
    if not records:
        return "No full-budget run has finished yet.\n"
    rows = summarise(records)
    corpora = list(dict.fromkeys(c for c, _ in sorted(rows, key=lambda k: (k[0] not in TARGETS, k[0]))))
    lines = [
        "Strict micro F1 (exact span and type) on each test split at threshold 0.5, median over seeds.",
        "",
        "| corpus | student-single | kogner-bio | kogner-bio - single (>= -1.5) | target (best system) | "
        "published anchors (strict, test) |",
        "|---|---|---|---|---|---|",
    ]
    for corpus in corpora:
        single, general = rows.get((corpus, "student-single")), rows.get((corpus, "kogner-bio"))
        cells = [f"{100 * r['f1']:.1f}" if r else "-" for r in (single, general)]
        gap = general["f1"] - single["f1"] if single and general else None
        gap = "-" if gap is None else f"{100 * gap:+.1f} ({'met' if gap >= -GAP else 'missed'})"
        verdict, anchor = _verdict(corpus, rows), ANCHORS.get(corpus, "")
        lines.append(f"| {corpus} | {cells[0]} | {cells[1]} | {gap} | {verdict} | {anchor} |")
    lines += ["", "| corpus | system | seeds | schedule | epochs | examples seen | train min | per type | commit |",
              "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (corpus, system), r in sorted(rows.items()):
        per_type = ", ".join(f"{t} {100 * f:.1f}" for t, f in sorted(r["per_type"].items()))
        lines.append(
            f"| {corpus} | {system} | {r['seeds']} | {r['schedule']} | {r['epochs']:.1f} | {r['examples']:,.0f} | "
            f"{r['minutes']:.1f} | {per_type} | {r['commit'][:7]} |"
        )
    machines = sorted({r["machine"] for r in rows.values()})
    return "\n".join([*lines, "", "Machines: " + "; ".join(machines) + "."]) + "\n"


def write_report(results: Path = RESULTS, readme: bool = False) -> str:
    text = markdown(read(results))
    results.with_suffix(".md").write_text(text)
    if readme:
        write_readme_block("supervised results", "supervised_full_report.py", text)
    return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--readme", action="store_true", help="also write the table into README.md")
    print(write_report(**vars(p.parse_args())))


if __name__ == "__main__":
    main()
