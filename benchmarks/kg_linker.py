"""Linker coverage and the leakage audit on every corpus's test split.

For each gold mention: is a node of the right KG type ranked first / in the top 5 (no type filter, so the
linker must pick the type itself), is the mention an exact KG alias of the right type (after normalisation:
the share of test mentions a model could have memorised from the KG), and, for top-5 misses, why:
``abbreviation`` (looks like one, or is one defined in its document), ``spelling/variant`` (a right-type
alias is close but under the linker's threshold) or ``not in KG``. Run::

    python benchmarks/kg_linker.py [--kg runs/kg]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import provenance, write_results

from kogner.data.corpora import CORPORA, data_root
from kogner.kg.build import build_graph
from kogner.kg.coverage import coverage_report, link_mentions
from kogner.kg.linker import Linker

RESULTS = Path(__file__).parent / "results"


def table(reports: dict) -> str:
    lines = [
        "| corpus | type | mentions | top-1 | top-5 | exact alias | misses: abbrev. / variant / not in KG |",
        "|---|---|---|---|---|---|---|",
    ]
    for corpus, report in reports.items():
        for label, r in report.items():
            m = r["misses"]
            misses = f"{m.get('abbreviation', 0)} / {m.get('spelling/variant', 0)} / {m.get('not in KG', 0)}"
            lines.append(
                f"| {corpus} | {label} | {r['mentions']} | {100 * r['top1']:.1f} | {100 * r['top5']:.1f} "
                f"| {100 * r['exact_alias']:.1f} | {misses} |"
            )
    lines += ["", "Examples of misses (first five, alphabetical):", ""]
    for corpus, report in reports.items():
        for cat, texts in report["all"]["miss_examples"].items():
            lines.append(f"- {corpus}, {cat}: " + "; ".join(f"`{t}`" for t in texts))
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kg", type=Path, default=Path("runs/kg"))
    p.add_argument("--split", default="test")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    if not (args.kg / "manifest.json").is_file():
        build_graph(args.kg, data_root() / "kg")
    started = time.perf_counter()
    linker = Linker.from_folder(args.kg)
    reports = {name: coverage_report(link_mentions(linker, name, args.split)) for name in CORPORA}
    out = {
        **provenance(),
        "split": args.split,
        "linker": {"min_score": linker.min_score, "ngram": list(linker.ngram), "keys": len(linker.keys)},
        "seconds": round(time.perf_counter() - started, 1),
        "corpora": reports,
    }
    write_results(args.results, "kg_linker", out, table(reports))


if __name__ == "__main__":
    main()
