"""How ``kogner kg build`` scales: time and peak RSS per million edges, and a projection to a KG 50x larger
(BioMedGraphica: 2.3M nodes, 27M edges).

There is no KG of that size here, so the input grows by copying the real graph: copy ``i`` of every node,
alias and triple gets the id suffix ``#i`` (a disjoint union of real graphs, read through the user-TSV path
that a large KG would use). Each size is built in a fresh subprocess that reports its own peak RSS. Run::

    python benchmarks/kg_scale.py --copies 1 4 16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import peak_rss_mib, provenance, write_results

from kogner.data.corpora import data_root
from kogner.kg.build import build_graph
from kogner.kg.graph import KnowledgeGraph

RESULTS = Path(__file__).parent / "results"
TARGET = {"nodes": 2_306_921, "edges": 27_232_091}


def write_copies(graph: KnowledgeGraph, copies: int, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    heads, codes, tails, relations = graph.triples
    aliases = graph.aliases()
    with open(folder / "nodes.tsv", "w") as fh:
        for c in range(copies):
            fh.writelines(f"{i}#{c}\t{k}\t{n}\n" for i, k, n in zip(graph.ids, graph.types, graph.names, strict=True))
    with open(folder / "aliases.tsv", "w") as fh:
        for c in range(copies):
            fh.writelines(f"{a.text}\t{graph.ids[a.node]}#{c}\t{a.source}\n" for a in aliases)
    with open(folder / "triples.tsv", "w") as fh:
        for c in range(copies):
            fh.writelines(
                f"{graph.ids[h]}#{c}\t{relations[r]}\t{graph.ids[t]}#{c}\n"
                for h, r, t in zip(heads.tolist(), codes.tolist(), tails.tolist(), strict=True)
            )
    return copies * len(heads)


def child(folder: str, out: str) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    manifest = build_graph(Path(out), None, [Path(folder)])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = {"nodes": manifest["nodes"], "aliases": manifest["aliases"], "edges": manifest["triples"]}
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mib": peak_rss_mib(), **counts}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--copies", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--work", type=Path, default=Path("runs/kg_scale"))
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    base = args.work / "base"
    if not (base / "manifest.json").is_file():
        build_graph(base, data_root() / "kg")
    graph = KnowledgeGraph(base)
    rows = []
    for copies in args.copies:
        folder = args.work / f"x{copies}"
        write_copies(graph, copies, folder / "input")
        cmd = [sys.executable, __file__, "child", str(folder / "input"), str(folder / "graph")]
        result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        result["copies"] = copies
        result["seconds_per_million_edges"] = result["cpu_seconds"] / (result["edges"] / 1e6)
        rows.append(result)
        print(result)
    largest = rows[-1]
    scale = TARGET["edges"] / largest["edges"]
    projection = {
        "target": TARGET,
        "seconds": largest["cpu_seconds"] * scale,
        "peak_rss_mib": largest["peak_rss_mib"] * max(1.0, TARGET["nodes"] / largest["nodes"]),
        "basis": f"linear in edges from the {largest['copies']}x build; RSS grows with nodes (ids held in memory)",
    }
    report = {
        **provenance(),
        "builds": rows,
        "projection": projection,
    }
    lines = [
        "| copies | nodes | aliases | edges | build CPU s | CPU s per M edges | peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['copies']} | {r['nodes']:,} | {r['aliases']:,} | {r['edges']:,} | {r['cpu_seconds']:.1f} "
        f"| {r['seconds_per_million_edges']:.1f} | {r['peak_rss_mib']:.0f} |"
        for r in rows
    ]
    lines += [
        "",
        f"Projection to {TARGET['nodes']:,} nodes and {TARGET['edges']:,} edges: about "
        f"{projection['seconds'] / 60:.0f} min and {projection['peak_rss_mib'] / 1024:.1f} GiB peak RSS "
        f"({projection['basis']}).",
    ]
    write_results(args.results, "kg_scale", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
