"""Quality and cost of the teacher's graph embeddings: held-out link prediction (filtered MRR, Hits@1/10)
for our TransR, the two GNN variants (R-GCN, graph transformer) and PyKEEN's TransR on the same split, the
same test triples and the same number of epochs, with CPU training and evaluation times.

The graph is the one ``kogner kg build`` makes from the shared sources. 5% of the triples are held out
(``split_triples``, seeded); ``--eval-triples`` of them are ranked against every node on both sides, with
every other true triple filtered out. PyKEEN runs in a separate environment with pykeen installed::

    python -m venv --system-site-packages .venv-pykeen && .venv-pykeen/bin/pip install pykeen
    .venv-pykeen/bin/python benchmarks/kg_embeddings.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from common import provenance, write_results

from kogner.data.corpora import data_root
from kogner.kg.build import build_graph
from kogner.kg.gnn import GNNConfig, train_gnn
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.linkpred import filtered_ranks, rank_metrics, split_triples
from kogner.kg.teacher import nodes_checksum
from kogner.kg.text import TextEmbedder
from kogner.kg.transr import TransRConfig, train_transr

RESULTS = Path(__file__).parent / "results"


def timed(fn, *args, **kwargs):
    """``(result, CPU seconds)``: process CPU time (all threads), which another job on the machine barely
    changes, unlike wall time."""
    started = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - started


def pykeen_transr(graph, relations, train, test, known, config: TransRConfig) -> dict:
    """PyKEEN's TransR with our dimensions, L2 score, margin and negatives per positive; its own batch size
    default (256) and Adam learning rate (1e-3)."""
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.models import TransR
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import TriplesFactory

    entity_to_id = {node: row for row, node in enumerate(graph.ids)}
    relation_to_id = {name: code for code, name in enumerate(relations)}
    factory = TriplesFactory(torch.as_tensor(train), entity_to_id, relation_to_id)
    model = TransR(
        triples_factory=factory, embedding_dim=config.dim, relation_dim=config.relation_dim, scoring_fct_norm=2,
        loss="marginranking", loss_kwargs={"margin": config.margin}, random_seed=config.seed,
    )  # fmt: skip
    loop = SLCWATrainingLoop(
        model=model, triples_factory=factory, optimizer="adam", optimizer_kwargs={"lr": 1e-3},
        negative_sampler_kwargs={"num_negs_per_pos": config.negatives},
    )  # fmt: skip
    _, train_s = timed(loop.train, factory, num_epochs=config.epochs, batch_size=256, use_tqdm_batch=False)
    evaluator = RankBasedEvaluator(filtered=True)
    results, eval_s = timed(
        evaluator.evaluate, model, torch.as_tensor(test), batch_size=256, use_tqdm=False,
        additional_filter_triples=[torch.as_tensor(known)],
    )  # fmt: skip
    return {
        "mrr": results.get_metric("both.realistic.inverse_harmonic_mean_rank"),
        "hits@1": results.get_metric("both.realistic.hits_at_1"),
        "hits@10": results.get_metric("both.realistic.hits_at_10"),
        "ranked": 2 * len(test),
        "train_s": train_s,
        "train_s_per_epoch": train_s / config.epochs,
        "eval_s": eval_s,
        "eval_triples_per_s": len(test) / eval_s,
    }


def table(report: dict) -> str:
    lines = [
        f"Held-out link prediction on {report['graph']['triples']:,} triples ({report['graph']['nodes']:,} nodes): "
        f"{report['split']['test']:,} held out, {report['split']['ranked_triples']:,} ranked on both sides, "
        "filtered. Times are process CPU seconds (2 threads).",
        "",
        "| model | epochs/steps | MRR | Hits@1 | Hits@10 | train CPU s | CPU s/epoch | eval triples per CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in report["models"].items():
        per_epoch = f"{r['train_s_per_epoch']:.1f}" if r.get("train_s_per_epoch") else "–"
        lines.append(
            f"| {name} | {r['budget']} | {r['mrr']:.4f} | {r['hits@1']:.4f} | {r['hits@10']:.4f} | {r['train_s']:.0f} "
            f"| {per_epoch} | {r['eval_triples_per_s']:.1f} |"
        )
    ours, theirs = report["models"].get("kogner TransR"), report["models"].get("PyKEEN TransR")
    if ours and theirs:
        ratio = theirs["train_s"] / ours["train_s"]
        cost = f"{ratio:.1f}x less" if ratio >= 1 else f"{1 / ratio:.1f}x more"
        lines += [
            "",
            f"TransR: MRR {ours['mrr']:.4f} vs PyKEEN {theirs['mrr']:.4f}; training takes {cost} CPU time than "
            f"PyKEEN's; evaluation is {ours['eval_triples_per_s'] / theirs['eval_triples_per_s']:.0f}x faster.",
        ]
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kg", type=Path, default=Path("runs/kg"), help="built graph (built here when missing)")
    p.add_argument("--epochs", type=int, default=10, help="TransR epochs, ours and PyKEEN's")
    p.add_argument("--gnn-steps", type=int, default=150)
    p.add_argument("--gnn-loss", choices=["softmax", "bce"], default=GNNConfig.loss)
    p.add_argument("--text-from-teacher", action="store_true", help="node text vectors from <kg>/teacher")
    p.add_argument("--eval-triples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", nargs="+", default=["transr", "rgcn", "transformer", "pykeen"],
                   help="models to (re)run; the others keep their results from the last report")  # fmt: skip
    p.add_argument("--transr-batch", type=int, default=TransRConfig.batch_size)
    p.add_argument("--results", type=Path, default=RESULTS)
    return p.parse_args()


def node_text_vectors(args, graph: KnowledgeGraph) -> tuple[torch.Tensor, float | None]:
    """The GNN's input: MiniLM name vectors, computed here or read from the cached teacher."""
    if not args.text_from_teacher:
        return timed(TextEmbedder("all-MiniLM-L6-v2"), graph.names, progress=True)
    from safetensors.torch import load_file

    index = json.loads((args.kg / "teacher" / "index.json").read_text())
    if index["kg_nodes_checksum"] != nodes_checksum(graph):
        raise SystemExit(f"{args.kg}/teacher was computed on another graph; drop --text-from-teacher")
    return load_file(args.kg / "teacher" / "vectors.safetensors")["text"], None


def run_gnns(args, graph, split, test, known, relations) -> tuple[dict[str, dict], float | None]:
    models: dict[str, dict] = {}
    kinds = [k for k in ("rgcn", "transformer") if k in args.only]
    if not kinds:
        return models, None
    text, text_s = node_text_vectors(args, graph)
    for kind in kinds:
        gconfig = GNNConfig(kind=kind, steps=args.gnn_steps, seed=args.seed, loss=args.gnn_loss)
        (gnn, z), train_s = timed(train_gnn, text, split.train, len(relations), gconfig)
        ranks, eval_s = timed(filtered_ranks, gnn.scorer(z), test, known)
        name = f"kogner GNN ({kind}, {args.gnn_loss}, {args.gnn_steps} steps)"
        models[name] = {
            **rank_metrics(ranks), "budget": f"{args.gnn_steps} steps", "train_s": train_s, "eval_s": eval_s,
            "eval_triples_per_s": len(test) / eval_s, "config": vars(gconfig),
        }  # fmt: skip
        print(name, models[name])
    return models, text_s


def merge_previous(report: dict, results: Path) -> dict:
    """A partial rerun (``--only``) keeps the other models' results of the last report."""
    previous = results / "kg_embeddings.json"
    if not previous.is_file():
        return report
    old = json.loads(previous.read_text())
    legacy = {"kogner GNN (rgcn)": "kogner GNN (rgcn, bce, 5 steps)"}  # names before --gnn-loss
    legacy["kogner GNN (transformer)"] = "kogner GNN (transformer, bce, 50 steps)"
    merged = {**{legacy.get(k, k): v for k, v in old["models"].items()}, **report["models"]}
    return report | {
        "models": merged, "text_vectors_s": report["text_vectors_s"] or old.get("text_vectors_s"),
        "command": old["command"] + " ; " + report["command"],
    }  # fmt: skip


def main() -> None:
    args = parse_args()
    origin = provenance()  # the code of the start, whatever lands while it runs
    torch.set_num_threads(args.threads)

    if not (args.kg / "manifest.json").is_file():
        build_graph(args.kg, data_root() / "kg")
    graph = KnowledgeGraph(args.kg)
    heads, codes, tails, relations = graph.triples
    known = np.stack([heads, codes, tails], 1)
    split = split_triples(known, 0.05, args.seed)
    rng = np.random.default_rng(args.seed)
    test = split.test[rng.permutation(len(split.test))[: args.eval_triples]]
    print(f"{len(graph):,} nodes, {len(known):,} triples; train {len(split.train):,}; ranking {len(test):,}")

    models: dict[str, dict] = {}
    config = TransRConfig(epochs=args.epochs, seed=args.seed, batch_size=args.transr_batch)
    if "transr" in args.only:
        transr, train_s = timed(train_transr, split.train, len(graph), len(relations), config)
        ranks, eval_s = timed(filtered_ranks, transr.score_all, test, known)
        models["kogner TransR"] = {
            **rank_metrics(ranks), "budget": f"{args.epochs} epochs", "train_s": train_s,
            "train_s_per_epoch": train_s / args.epochs, "eval_s": eval_s, "eval_triples_per_s": len(test) / eval_s,
            "config": vars(config),
        }  # fmt: skip
        print("kogner TransR", models["kogner TransR"])
    gnns, text_s = run_gnns(args, graph, split, test, known, relations)
    models |= gnns
    if "pykeen" in args.only:
        models["PyKEEN TransR"] = {
            **pykeen_transr(graph, relations, split.train, test, known, config),
            "budget": f"{args.epochs} epochs",
        }
        print("PyKEEN", models["PyKEEN TransR"])

    report = {
        **origin,
        "seed": args.seed,
        "graph": {"nodes": len(graph), "triples": len(known), "relations": len(relations)},
        "split": {"train": len(split.train), "test": len(split.test), "ranked_triples": len(test)},
        "text_vectors_s": text_s,
        "kg_build_s": graph.manifest["build_seconds"],
        "models": models,
    }
    report = merge_previous(report, args.results)
    write_results(args.results, "kg_embeddings", report, table(report))


if __name__ == "__main__":
    main()
