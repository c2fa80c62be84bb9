"""Compare automl's rows of two benchmark runs (``benchmarks.run`` CSVs) dataset by dataset
(and seed by seed):
score, normalised score (1 = the best of every system in both files), fit time, 1-row predict
time, peak RSS, and whether the final model has an MLP member.

    python -m benchmarks.compare_runs benchmarks/results/peers_60s.csv benchmarks/results/wave2_60s.csv
"""

import sys

import pandas as pd

old = pd.read_csv(sys.argv[1])
new = pd.read_csv(sys.argv[2])
o = old[old.system == "automl"].set_index(["dataset", "seed"])
n = new[new.system == "automl"].set_index(["dataset", "seed"])
rows = []
for d in n.index:
    lower = n.loc[d, "metric"] in ("log_loss",)
    const = o.loc[d, "const_score"]
    allscores = list(old[(old.dataset == d[0]) & (old.seed == d[1])].score.dropna()) + [n.loc[d, "score"]]
    b = min(allscores) if lower else max(allscores)
    norm = lambda s: (const - s) / (const - b) if lower else (s - const) / (b - const)
    ens = str(n.loc[d, "ensemble_report"])
    rows.append(dict(dataset=d[0], seed=d[1], metric=n.loc[d, "metric"], before=o.loc[d, "score"], after=n.loc[d, "score"],
                     norm_before=norm(o.loc[d, "score"]), norm_after=norm(n.loc[d, "score"]),
                     fit_s=n.loc[d, "fit_s"], p1_before=o.loc[d, "predict_1row_ms"], p1_after=n.loc[d, "predict_1row_ms"],
                     rss_before=o.loc[d, "peak_rss_mb"], rss_after=n.loc[d, "peak_rss_mb"],
                     mlp_before="mlp" in str(o.loc[d, "ensemble_report"]).split(";")[0], mlp_after="mlp" in ens.split(";")[0],
                     status=n.loc[d, "status"]))
t = pd.DataFrame(rows)
pd.set_option("display.width", 250)
print("| " + " | ".join(t.columns) + " |"); print("|" + "---|" * len(t.columns)); [print("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r) + " |") for r in t.itertuples(index=False)]
print()
print("mean normalised (best of all systems in peers_60s + this run = 1): before %.4f after %.4f" % (t.norm_before.mean(), t.norm_after.mean()))
print("1-row ms median before %.1f after %.1f; max before %.1f after %.1f" % (t.p1_before.median(), t.p1_after.median(), t.p1_before.max(), t.p1_after.max()))
print("peak RSS max before %.0f after %.0f; datasets over 600 MB after: %d" % (t.rss_before.max(), t.rss_after.max(), (t.rss_after > 600).sum()))
print("fit max %.1f s (limit 65.0); failures %d" % (t.fit_s.max(), (t.status != "ok").sum()))
print("final model includes the mlp: before %d, after %d of %d" % (t.mlp_before.sum(), t.mlp_after.sum(), len(t)))
