"""Aggregate ``ablation.jsonl``: mean +- sd per (schedule, setting, corpus, variant), the paired bootstrap
p-value of each variant against ``student`` on the same seeds (sentences of all paired seeds pooled), the
leakage audit, and PNG plots. Writes ``benchmarks/results/ablation.md`` and ``ablation_*.png``::

    python benchmarks/ablation_report.py
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from kogner.evaluate.bootstrap import PairedTest, paired_bootstrap

RESULTS = Path(__file__).parent / "results"
# KoGNER's published zero-shot F1 (arXiv 2503.15737); the paper's GENIA row stands for JNLPBA (same abstracts)
PAPER_ZERO_SHOT = {"ncbi-disease": 32.6, "bc5cdr": 43.2, "bc2gm": 31.2, "jnlpba": 32.8}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pooled_test(runs: list[dict], base: dict[int, dict]) -> PairedTest | None:
    """Paired bootstrap of ``runs`` against the baseline records of the same seeds (sentences of all paired
    seeds pooled), or None without any pair."""
    paired = [(r, base[r["seed"]]) for r in runs if r["seed"] in base]
    if not paired:
        return None
    a = np.concatenate([np.array(r["sentence_counts"]) for r, _ in paired])
    b = np.concatenate([np.array(s["sentence_counts"]) for _, s in paired])
    return paired_bootstrap(a, b, samples=2000)


def format_test(delta: float | None, p: float | None) -> str:
    """A table cell for a paired test: ``+2.1 (p=0.031)``, ``-5.9 (p<0.001)``, or ``–`` without one."""
    if delta is None or p is None:
        return "–"
    return f"{100 * delta:+.1f} ({'p<0.001' if p < 0.001 else f'p={p:.3f}'})"


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["schedule"], r["setting"], r["corpus"], r["variant"])].append(r)
    rows = []
    order = {"student": 0, "+distill": 1, "+augment": 2, "kogner": 3}

    def key(item):  # supervised before zero-shot, then schedule, corpus, variant (student first)
        schedule, setting, corpus, variant = item[0]
        return setting != "supervised", schedule, corpus, order.get(variant, len(order)), variant

    for (schedule, setting, corpus, variant), runs in sorted(groups.items(), key=key):
        f1s = [r["f1"] for r in runs]
        row = {
            "schedule": schedule, "setting": setting, "corpus": corpus, "variant": variant, "seeds": len(runs),
            "f1_mean": statistics.mean(f1s), "f1_sd": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
            "f1_alias": statistics.mean(r["f1_alias"] for r in runs),
            "f1_non_alias": statistics.mean(r["f1_non_alias"] for r in runs),
            "gold_alias_share": runs[0]["gold_alias_share"], "p_vs_student": None, "delta_vs_student": None,
        }  # fmt: skip
        base = {r["seed"]: r for r in groups.get((schedule, setting, corpus, "student"), [])}
        test = pooled_test(runs, base) if variant != "student" else None
        if test is not None:
            row["p_vs_student"], row["delta_vs_student"] = test.p_value, test.delta
        rows.append(row)
    return rows


def short(schedule: str) -> str:
    """A table cell for a schedule: ``cuda-12800-examples-b32-word_pooling=mean`` -> ``cuda-12800, b32, mean``."""
    head, _, rest = schedule.partition("-examples")
    return ", ".join([head] + [part.split("=")[-1] for part in rest.split("-") if part])


def markdown(rows: list[dict]) -> str:
    lines = [
        "| schedule | setting | corpus | variant | seeds | F1 mean +- sd | vs student (pooled, p) "
        "| F1 on KG-alias mentions | F1 on other mentions | gold alias share |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        vs = format_test(r["delta_vs_student"], r["p_vs_student"])
        lines.append(
            f"| {short(r['schedule'])} | {r['setting']} | {r['corpus']} | {r['variant']} | {r['seeds']} "
            f"| {100 * r['f1_mean']:.1f} +- {100 * r['f1_sd']:.1f} | {vs} | {100 * r['f1_alias']:.1f} "
            f"| {100 * r['f1_non_alias']:.1f} | {100 * r['gold_alias_share']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plots(rows: list[dict], folder: Path) -> list[str]:
    """Per-corpus F1 bars with sd error bars (one figure per schedule and setting), and gain vs alias share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for schedule, setting in sorted({(r["schedule"], r["setting"]) for r in rows}):
        sub = [r for r in rows if r["setting"] == setting and r["schedule"] == schedule]
        corpora = sorted({r["corpus"] for r in sub})
        variants = [v for v in ("student", "+distill", "+augment", "kogner") if any(r["variant"] == v for r in sub)]
        fig, ax = plt.subplots(figsize=(8, 4))
        width = 0.8 / max(1, len(variants))
        for i, variant in enumerate(variants):
            vals = [next((r for r in sub if r["corpus"] == c and r["variant"] == variant), None) for c in corpora]
            xs = [j + i * width for j in range(len(corpora))]
            ax.bar(xs, [100 * v["f1_mean"] if v else 0 for v in vals], width,
                   yerr=[100 * v["f1_sd"] if v else 0 for v in vals], label=variant, capsize=3)  # fmt: skip
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(corpora))], corpora)
        ax.set_ylabel("test micro F1")
        ax.set_title(f"{setting}, {schedule}: F1 by variant (mean +- sd over seeds)", fontsize=9)
        ax.legend()
        name = f"ablation_{setting}_{schedule.replace('=', '-')}.png"
        fig.tight_layout()
        fig.savefig(folder / name, dpi=120)
        plt.close(fig)
        written.append(name)
    gains = [r for r in rows if r["variant"] == "kogner" and r["delta_vs_student"] is not None]
    if gains:
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter([100 * r["gold_alias_share"] for r in gains], [100 * r["delta_vs_student"] for r in gains])
        for r in gains:
            label = f"{r['corpus']} ({r['setting']}, {r['schedule'].split('-')[0]})"
            ax.annotate(label, (100 * r["gold_alias_share"], 100 * r["delta_vs_student"]), fontsize=7)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel("test mentions that are exact KG aliases (%)")
        ax.set_ylabel("kogner - student F1 (points)")
        fig.tight_layout()
        fig.savefig(folder / "ablation_gain_vs_alias_share.png", dpi=120)
        plt.close(fig)
        written.append("ablation_gain_vs_alias_share.png")
    return written


def schedules(records: list[dict]) -> str:
    """What each schedule is: runs, device, commits and any note the runs recorded."""
    lines = ["| schedule | in tables | runs | device | commits | note |", "|---|---|---|---|---|---|"]
    for name in sorted({r["schedule"] for r in records}):
        runs = [r for r in records if r["schedule"] == name]
        commits = ", ".join(sorted({r["commit"][:7] for r in runs}))
        notes = "; ".join(sorted({r.get("note") or "" for r in runs} - {""})) or "–"
        lines.append(f"| {name} | {short(name)} | {len(runs)} | {runs[0]['device']} | {commits} | {notes} |")
    return "\n".join(lines) + "\n"


def comparisons(rows: list[dict], peer: list[dict]) -> str:
    """``kogner`` against the paper's zero-shot figures, and against the gliner peer where a peer record has the
    same setting, test corpus and examples seen as a schedule (``student_vs_gliner.py`` records)."""
    lines = ["| setting | corpus | schedule | seeds | kogner F1 | reference | reference F1 | difference |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        if r["variant"] != "kogner":
            continue
        ours = 100 * r["f1_mean"]
        head = f"| {r['setting']} | {r['corpus']} | {short(r['schedule'])} | {r['seeds']} | {ours:.1f}"
        if r["setting"] == "zero-shot" and r["corpus"] in PAPER_ZERO_SHOT:
            ref = PAPER_ZERO_SHOT[r["corpus"]]
            lines.append(f"{head} | KoGNER paper | {ref:.1f} | {ours - ref:+.1f} |")
        examples = int(r["schedule"].split("-")[1])
        for q in peer:
            same = q["setting"] == r["setting"] and q["dataset"] == r["corpus"] and q["examples_seen"] == examples
            if same and q["system"].startswith("gliner") and q.get("trained_on", r["corpus"]) == r["corpus"]:
                ref = 100 * q["f1"]
                lines.append(f"{head} | {q['system']} ({q['budget']}) | {ref:.1f} | {ours - ref:+.1f} |")
    return "\n".join(lines) + "\n"


def lambda_table(records: list[dict]) -> str:
    """Devel F1 of ``+distill`` by distillation lambda (``lambda_devel.jsonl``): the lambda to use is the one
    with the best mean devel F1 over corpora; test F1 is shown but plays no part in the choice."""
    by = defaultdict(dict)
    for r in records:
        by[r["distill_lambda"]][r["corpus"]] = r
    corpora = sorted({r["corpus"] for r in records})
    lines = ["| lambda | " + " | ".join(f"{c} devel" for c in corpora) + " | mean devel | mean test |",
             "|---" * (len(corpora) + 3) + "|"]  # fmt: skip
    means = {}
    for lam in sorted(by):
        runs = by[lam]
        if set(runs) != set(corpora):
            continue
        means[lam] = statistics.mean(runs[c]["devel_f1"] for c in corpora)
        test = statistics.mean(runs[c]["f1"] for c in corpora)
        cells = " | ".join(f"{100 * runs[c]['devel_f1']:.1f}" for c in corpora)
        lines.append(f"| {lam:g} | {cells} | {100 * means[lam]:.1f} | {100 * test:.1f} |")
    best = max(means, key=means.get) if means else None
    return "\n".join(lines) + f"\n\nBest mean devel F1: lambda = {best:g}\n" if best is not None else ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument(
        "--peer", type=Path, nargs="*", default=sorted(RESULTS.glob("**/student_vs_gliner.json")),
        help="student_vs_gliner.py result files holding gliner records to compare with",
    )  # fmt: skip
    args = p.parse_args()
    records = load(args.results / "ablation.jsonl")
    rows = summarise(records)
    peer = [q for path in args.peer for q in json.loads(path.read_text())["records"]]
    text = markdown(rows) + "\n" + schedules(records)
    text += "\n## Against the paper and the gliner peer\n\n" + comparisons(rows, peer)
    sweep = args.results / "lambda_devel.jsonl"
    if sweep.is_file():
        text += "\n## Distillation lambda, chosen on devel\n\n" + lambda_table(load(sweep))
    try:
        images = plots(rows, args.results)
        text += "\n" + "\n".join(f"![{name}]({name})" for name in images) + "\n"
    except ImportError:
        text += "\n(plots need matplotlib: pip install matplotlib)\n"
    (args.results / "ablation.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
