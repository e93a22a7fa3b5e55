"""Build the shipped synthesizability model (PU learning, transductive bagging) and measure it.

Positives: the known Materials Project binaries of the shared elastic data set. Unlabelled: a random sample of
the hypothetical binaries made by element substitution into them (``ase_mlmat.workflows.design.substitution``),
less those of a known composition (``bagging.novel_composition``; ``--keep-known-compositions`` keeps them).
Bag b trains on the positives outside fold ``b mod folds`` against as many unlabelled (``mlmat_synthesis.bagging``);
the held-out positives of each fold, scored by that fold's bags, give the k-fold true-positive rate, and every
unlabelled structure is scored by the bags that did not sample it. The shipped model is all the bags.

Resumable: each bag is saved in ``--workdir`` as it finishes, and a rerun loads the bags that are there (the plan
and settings are checked against the directory's ``plan.json``). Writes the model into the plugin, a model card
(JSON) and a histogram of the unlabelled scores into ``--docs``, and prints one JSON line.

    OMP_NUM_THREADS=1 python scripts/build_synthesizability.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

DATA = "../shared/data/elastic/mp-binary-pbe-elasticity-2025.1.json.gz"
MODEL_OUT = "plugins/synthesis/mlmat_synthesis/pretrained/mp-binary-synthesizability.pt"
REFERENCE = "Jang, Gu, Noh, Kim, Jung, J. Am. Chem. Soc. 142, 18836 (2020)"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DATA)
    p.add_argument("--bags", type=int, default=15)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--unlabelled", type=int, default=12000, help="unlabelled structures sampled (0: all)")
    p.add_argument("--threshold", type=float, default=3e-3, help="substitution probability threshold")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument(
        "--keep-known-compositions",
        action="store_true",
        help="keep the sampled candidates whose reduced composition is a positive's among the unlabelled",
    )
    p.add_argument("--jobs", type=int, default=1, help="bags trained at once, one process (and thread) each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="runs/synthesizability")
    p.add_argument("--output", default=MODEL_OUT)
    p.add_argument("--docs", default="docs/synthesis")
    return p.parse_args(argv)


def structure_types(prototypes, cache: Path) -> None:
    """Assign the prototypes' structure types (~90 s), cached in ``cache`` (one int per prototype)."""
    from ase_mlmat.workflows.design.substitution import assign_structure_types

    if cache.is_file():
        types = json.loads(cache.read_text())
        if len(types) == len(prototypes):
            for prototype, type_id in zip(prototypes, types):
                prototype.type_id = type_id
            return
    assign_structure_types(prototypes)
    cache.write_text(json.dumps([int(p.type_id) for p in prototypes]))


def candidates(prototypes, threshold: float):
    from ase_mlmat.workflows.design.substitution import SiteOrder, SubstitutionTable, generate_substitutions

    table = SubstitutionTable({e for p in prototypes for e in p.elements})
    return generate_substitutions(prototypes, table, threshold=threshold, site_order=SiteOrder(prototypes))


def histogram(scores: np.ndarray, positives: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 41)
    ax.hist(scores, bins=bins, alpha=0.7, density=True, label=f"unlabelled, out of bag (n={len(scores)})")
    ax.hist(positives, bins=bins, alpha=0.6, density=True, label=f"known, held-out fold (n={len(positives)})")
    ax.axvline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xlabel("synthesizability score")
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _train_share(job: tuple) -> int:
    """One process's share of the bags (saved into the work directory); returns how many it trained."""
    config, elements, graphs_file, bags, seed, workdir = job
    import torch
    from mlmat_synthesis import bagging

    positive_graphs, unlabelled_graphs = torch.load(graphs_file, weights_only=True)
    bagging.train_bags(config, elements, positive_graphs, unlabelled_graphs, bags, seed=seed, directory=workdir)
    return len(bags)


def parallel_bags(jobs: int, config, elements, positive_graphs, unlabelled_graphs, plan, seed: int, workdir) -> None:
    """Train the bags in ``jobs`` processes (every ``jobs``-th bag each); each bag is saved as it finishes.

    The graphs go to the processes through one file: pickling thousands of tensors through a pipe runs out of
    file descriptors.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import torch

    graphs_file = Path(workdir) / "graphs.pt"
    torch.save((list(positive_graphs), list(unlabelled_graphs)), graphs_file)
    shares = [(config, elements, str(graphs_file), plan[i::jobs], seed, str(workdir)) for i in range(jobs)]
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_train_share, shares))
    finally:
        graphs_file.unlink(missing_ok=True)


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    import torch
    from mlmat_synthesis import bagging

    from ase_mlmat.model_store import save_model
    from ase_mlmat.models.ensemble import Ensemble
    from ase_mlmat.workflows.design.substitution import read_prototypes

    torch.set_num_threads(1)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    prototypes = read_prototypes(args.data)
    structure_types(prototypes, workdir / "structure_types.json")
    generated = candidates(prototypes, args.threshold)
    rng = np.random.default_rng(args.seed)
    n_unl = len(generated) if args.unlabelled <= 0 else min(args.unlabelled, len(generated))
    chosen = np.sort(rng.choice(len(generated), size=n_unl, replace=False))
    sampled = [generated[i] for i in chosen]
    novel = bagging.novel_composition([c.atoms for c in sampled], [p.atoms for p in prototypes])
    if args.keep_known_compositions:
        novel[:] = True
    unlabelled = [c for c, keep in zip(sampled, novel) if keep]
    polymorphs = [c for c, keep in zip(sampled, novel) if not keep]  # of known compositions: scored, not trained on
    n_unl = len(unlabelled)
    elements = sorted({e for p in prototypes for e in p.elements} | {e for c in unlabelled for e in c.atoms.symbols})
    config = bagging.train_config(epochs=args.epochs, seed=args.seed)
    plan = bagging.plan_bags(len(prototypes), n_unl, bags=args.bags, folds=args.folds, seed=args.seed)

    settings = {
        "data": args.data,
        "positives": [p.mp_id for p in prototypes],
        "unlabelled": [c.key if isinstance(c.key, str) else str(c.key) for c in unlabelled],
        "threshold": args.threshold,
        "known_compositions": "kept" if args.keep_known_compositions else "dropped",
        "folds": args.folds,
        "seed": args.seed,
        "epochs": args.epochs,
        "model": config.model,
        "elements": elements,
    }
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    plan_file = workdir / "plan.json"
    if plan_file.is_file() and json.loads(plan_file.read_text())["fingerprint"] != fingerprint:
        raise SystemExit(f"{workdir} holds bags of other settings; remove it or choose another --workdir")
    plan_file.write_text(json.dumps({"fingerprint": fingerprint, "bags": args.bags}))

    t = time.perf_counter()
    positive_graphs = bagging.structure_graphs([p.atoms for p in prototypes], elements, config.model)
    unlabelled_graphs = bagging.structure_graphs([c.atoms for c in unlabelled], elements, config.model)
    graph_seconds = time.perf_counter() - t
    if args.jobs > 1:
        parallel_bags(args.jobs, config, elements, positive_graphs, unlabelled_graphs, plan, args.seed, workdir)
    models = bagging.train_bags(
        config, elements, positive_graphs, unlabelled_graphs, plan, seed=args.seed, directory=workdir
    )
    positive_probs = np.stack([bagging.probabilities(m, positive_graphs) for m in models])  # (bags, n_pos)
    unlabelled_probs = np.stack([bagging.probabilities(m, unlabelled_graphs) for m in models])  # (bags, n_unl)

    held = bagging.held_out_scores(positive_probs, plan, len(prototypes))
    tpr = bagging.true_positive_rates(held, plan, len(prototypes))
    oob, counts = bagging.out_of_bag_scores(unlabelled_probs, plan)
    polymorph_graphs = bagging.structure_graphs([c.atoms for c in polymorphs], elements, config.model)
    polymorph_scores = np.mean([bagging.probabilities(m, polymorph_graphs) for m in models], axis=0)
    scored = ~np.isnan(oob)
    all_bags_positive = positive_probs.mean(axis=0)  # the shipped model on the positives (mostly trained on)
    seconds = time.perf_counter() - start
    result = {
        "tpr_heldout_per_fold": [round(v, 4) for v in tpr["per_fold"].values()],
        "tpr_heldout_mean": round(tpr["mean"], 4),
        "tpr_heldout_fold_std": round(float(np.std(list(tpr["per_fold"].values()))), 4),
        "unlabelled_oob_mean": round(float(np.mean(oob[scored])), 4),
        "unlabelled_oob_median": round(float(np.median(oob[scored])), 4),
        "unlabelled_oob_fraction_ge_0.5": round(float(np.mean(oob[scored] >= 0.5)), 4),
        "unlabelled_oob_bags_per_structure_mean": round(float(counts[scored].mean()), 2),
        "positives_all_bags_fraction_ge_0.5": round(float(np.mean(all_bags_positive >= 0.5)), 4),
        "known_composition_polymorphs": len(polymorphs),
        "known_composition_polymorphs_fraction_ge_0.5": round(float(np.mean(polymorph_scores >= 0.5)), 4)
        if polymorphs
        else None,
        "num_positives": len(prototypes),
        "num_unlabelled": n_unl,
        "num_generated": len(generated),
        "bags": args.bags,
        "folds": args.folds,
        "epochs": args.epochs,
        "wall_seconds": round(seconds, 1),
        "graph_seconds": round(graph_seconds, 1),
    }
    card = {
        "name": "mp-binary-synthesizability",
        "what": "P(synthesisable) of a crystal: mean over PU bags of sigma(logit); cells scaled to a covalent-radius "
        "reference volume first (volume-blind)",
        "method": "positive-unlabelled transductive bagging, " + REFERENCE,
        "positives": f"{len(prototypes)} Materials Project binaries ({args.data})",
        "unlabelled": f"{n_unl} of {len(generated)} substitution candidates (threshold {args.threshold}), "
        f"sampled with seed {args.seed}"
        + ("" if args.keep_known_compositions else f", less {len(polymorphs)} of a known composition"),
        "architecture": "cgcnn",
        "model": config.model,
        "training": {k: getattr(config, k) for k in ("epochs", "batch_size", "learning_rate", "ema_decay", "threads")},
        "loss": "bce (logistic) on the logit, positives 1, sampled unlabelled 0",
        "metrics": result,
        "command": "OMP_NUM_THREADS=1 python scripts/build_synthesizability.py"
        + "".join(f" --{k} {v}" for k, v in (("bags", args.bags), ("unlabelled", args.unlabelled)) if v is not None)
        + (" --keep-known-compositions" if args.keep_known_compositions else ""),
    }
    save_model(Ensemble(models), args.output, {"card": card})
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "mp-binary-synthesizability.json").write_text(json.dumps(card, indent=1) + "\n")
    histogram(
        oob[scored],
        held[~np.isnan(held)],
        docs / "mp-binary-synthesizability_scores.png",
        f"PU synthesizability, {args.bags} bags: held-out TPR {tpr['mean']:.3f}, "
        f"unlabelled ≥ 0.5: {np.mean(oob[scored] >= 0.5):.3f}",
    )
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
