"""From raw runs to normalised scores, paired comparisons within noise, and the targets.

* Normalised score per run: 0 = constant predictor, 1 = the best primary metric any
  system got on that split (dataset and seed). A failed run scores 0 (as the constant
  predictor) so that failures weigh in the means. ``single_norm`` places automl's best
  single model on the same scale (it is not a competitor, so it never sets the best).
* Pairs: automl against each other system, and automl's final model against its best
  single model (issue #4), on the same test rows: difference of the primary metric
  (greater = automl better) and its bootstrap noise (``scoring.paired_difference``).
  Over several seeds the differences are averaged and the noise is that of the mean.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import scoring

OURS = "automl"
SINGLE = "automl_single"


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``norm_score`` (and ``single_norm`` for automl rows)."""
    frame = frame.copy()
    frame["norm_score"] = np.nan
    frame["single_norm"] = np.nan
    for _, group in frame.groupby(["dataset", "seed"], sort=False):
        ok = group[group["status"] == "ok"]
        if ok.empty:
            frame.loc[group.index, "norm_score"] = 0.0
            continue
        metric = ok["metric"].iloc[0]
        lower = metric in scoring.LOWER_IS_BETTER
        best = ok["score"].min() if lower else ok["score"].max()
        for i, row in group.iterrows():
            if row["status"] != "ok":
                frame.at[i, "norm_score"] = 0.0
                continue
            frame.at[i, "norm_score"] = scoring.normalise(row["score"], row["const_score"], best, lower)
            if "single_score" in row and pd.notna(row.get("single_score")):
                frame.at[i, "single_norm"] = scoring.normalise(row["single_score"], row["const_score"], best, lower)
    return frame


def pairs(frame: pd.DataFrame, predictions: dict, n_boot: int = scoring.N_BOOT) -> pd.DataFrame:
    """One row per (dataset, seed, opponent): automl minus the opponent on the primary
    metric, oriented greater = automl better, with its bootstrap noise."""
    out = []
    for (dataset, seed), group in frame.groupby(["dataset", "seed"], sort=False):
        runs = {r["system"]: r for _, r in group.iterrows()}
        if OURS not in runs:
            continue
        ours = runs[OURS]
        task = ours["task"]
        opponents = [s for s in runs if s not in (OURS, "dummy")]
        if ours["status"] == "ok" and "pred_single" in predictions.get((dataset, seed, OURS), {}):
            opponents.append(SINGLE)
        for other in opponents:
            row = {"dataset": dataset, "seed": seed, "task": task, "metric": scoring.PRIMARY[task],
                   "a": OURS, "b": other, "diff": np.nan, "noise": np.nan}
            other_ok = other == SINGLE or runs[other]["status"] == "ok"
            if ours["status"] != "ok":
                row["verdict"] = "loss" if other_ok else "tie"
                row["note"] = "automl failed" + ("" if other_ok else f", {other} too")
            elif not other_ok:
                row["verdict"], row["note"] = "win", f"{other} failed"
            else:
                arrays = predictions[(dataset, seed, OURS)]
                theirs = arrays["pred_single"] if other == SINGLE else predictions[(dataset, seed, other)]["pred"]
                diff, noise = scoring.paired_difference(task, arrays["y"], arrays["pred"], theirs, n_boot, seed)
                row.update(diff=diff, noise=noise, verdict=scoring.verdict(diff, noise), note="")
            out.append(row)
    return pd.DataFrame(out, columns=["dataset", "seed", "task", "metric", "a", "b", "diff", "noise",
                                      "verdict", "note"])


def per_dataset(pair_rows: pd.DataFrame) -> pd.DataFrame:
    """Pairs averaged over seeds: mean difference, noise of the mean, verdict (a failure
    on any seed decides it)."""
    out = []
    for (dataset, other), g in pair_rows.groupby(["dataset", "b"], sort=False):
        failed = g["diff"].isna()
        if failed.any():
            verdicts = set(g.loc[failed, "verdict"])
            verdict = "loss" if "loss" in verdicts else ("win" if "win" in verdicts else "tie")
            diff, noise = np.nan, np.nan
        else:
            diff = float(g["diff"].mean())
            noise = float(np.sqrt((g["noise"] ** 2).sum()) / len(g))
            verdict = scoring.verdict(diff, noise)
        out.append({"dataset": dataset, "b": other, "metric": g["metric"].iloc[0], "diff": diff, "noise": noise,
                    "verdict": verdict, "seeds": len(g), "note": "; ".join(n for n in g["note"] if n)})
    return pd.DataFrame(out, columns=["dataset", "b", "metric", "diff", "noise", "verdict", "seeds", "note"])


def system_means(frame: pd.DataFrame) -> pd.Series:
    """Mean normalised score per system: over seeds per dataset, then over datasets."""
    by_dataset = frame.groupby(["system", "dataset"], sort=False)["norm_score"].mean()
    return by_dataset.groupby(level="system", sort=False).mean()


def targets(frame: pd.DataFrame, by_dataset: pd.DataFrame, budget: float) -> list[tuple[str, str]]:
    """The issue's pass/fail lines: ("PASS" | "FAIL" | "n/a", sentence)."""
    lines = []
    means = system_means(frame)
    ours = frame[frame["system"] == OURS]
    has_flaml = "flaml" in set(frame["system"])
    if has_flaml:
        a, f = means.get(OURS, np.nan), means.get("flaml", np.nan)
        lines.append((_ok(a > f), f"automl's mean normalised score ({a:.3f}) is higher than FLAML's ({f:.3f})"))
        vs = by_dataset[by_dataset["b"] == "flaml"]
        good = int(vs["verdict"].isin(["win", "tie"]).sum())
        share = good / len(vs) if len(vs) else np.nan
        lines.append((_ok(share >= 0.75), f"automl wins or ties (within noise) against FLAML on at least 75% of "
                       f"datasets: {good} of {len(vs)} ({share:.0%})"))
    else:
        lines.append(("n/a", "automl's mean normalised score is higher than FLAML's: FLAML not run"))
        lines.append(("n/a", "automl wins or ties against FLAML on at least 75% of datasets: FLAML not run"))
    vs = by_dataset[by_dataset["b"] == "hgb"]
    if len(vs):
        worse = sorted(vs.loc[vs["verdict"] == "loss", "dataset"])
        lines.append((_ok(not worse), "automl is never worse than default HGB beyond noise: "
                      + (f"worse on {', '.join(worse)}" if worse else f"0 of {len(vs)} datasets worse")))
    else:
        lines.append(("n/a", "automl is never worse than default HGB beyond noise: HGB not run"))
    limit = 1.05 * budget + 2
    fit_line = f"automl's fit wall time <= 1.05 x budget + 2 s = {limit:.1f} s on every dataset"
    latency_line = "automl's single-row prediction latency is under 50 ms on every dataset"
    never_worse = "issue #4: the final model (ensemble) is never worse than automl's best single model beyond noise"
    better = "issue #4: the final model is better than the best single model on average"
    if ours.empty:
        return lines + [("n/a", f"{text}: automl not run") for text in (fit_line, latency_line, never_worse, better)]
    over = ours[~(ours["fit_s"] <= limit)]
    lines.append((_ok(over.empty), f"{fit_line}: max {ours['fit_s'].max():.1f} s" + _listing(over, "fit_s", "s")))
    slow = ours[~(ours["predict_1row_ms"] < 50)]
    lines.append((_ok(slow.empty), f"{latency_line}: max {ours['predict_1row_ms'].max():.1f} ms"
                  + _listing(slow, "predict_1row_ms", "ms")))
    ens = by_dataset[by_dataset["b"] == SINGLE]
    paired = ours[ours["single_norm"].notna()]
    if ens.empty or paired.empty:
        return lines + [("n/a", f"{text}: no best single model scored") for text in (never_worse, better)]
    worse = sorted(ens.loc[ens["verdict"] == "loss", "dataset"])
    lines.append((_ok(not worse), f"{never_worse}: " + (f"worse on {', '.join(worse)}" if worse
                                                        else f"0 of {len(ens)} datasets worse")))
    gain = float((paired["norm_score"] - paired["single_norm"]).mean())
    kept = int((paired["ensemble"] != "single").sum())
    lines.append((_ok(gain > 0), f"{better}: mean normalised score {gain:+.4f} (an ensemble was kept in {kept} "
                  f"of {len(paired)} runs; better beyond noise on {int((ens['verdict'] == 'win').sum())} of "
                  f"{len(ens)} datasets)"))
    return lines


def _ok(flag) -> str:
    return "PASS" if bool(flag) else "FAIL"


def _listing(rows: pd.DataFrame, column: str, unit: str) -> str:
    if rows.empty:
        return ""
    items = ", ".join(f"{r['dataset']} (seed {r['seed']}): {r[column]:.1f} {unit}" if pd.notna(r[column])
                      else f"{r['dataset']} (seed {r['seed']}): failed" for _, r in rows.iterrows())
    return f"; over: {items}"


def read_peers(path: Path) -> pd.DataFrame:
    """The per-dataset table of ``shared/benchmarks/PEERS.md``: dataset, metric, one
    column per peer system (score values; bold markers removed). Only the first such table
    (the file's main budget): a later one (its 300 s table) has other columns."""
    header, rows = None, []
    for line in Path(path).read_text().splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3:
            continue
        if cells[:2] == ["dataset", "metric"]:
            if header is not None:
                break
            header = cells
        elif header and cells[1] in scoring.PRIMARY.values() and re.fullmatch(r"[-\d.]+", cells[2]):
            rows.append([cells[0], cells[1], *map(float, cells[2:len(header)])])
    if header is None:
        raise ValueError(f"{path}: no '| dataset | metric | ...' table found")
    return pd.DataFrame(rows, columns=header)


def with_peers(frame: pd.DataFrame, peers: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Normalised scores of our systems (seed ``seed``) and the peers together, 1 = best
    of all of them on each dataset the two share. Rows: datasets; columns: systems."""
    ours = frame[frame["seed"] == seed]
    table = {}
    for _, p in peers.iterrows():
        runs = ours[ours["dataset"] == p["dataset"]]
        if runs.empty or runs["metric"].iloc[0] != p["metric"]:
            continue
        scores = {f"peer:{c}": p[c] for c in peers.columns[2:]}
        scores |= {r["system"]: (r["score"] if r["status"] == "ok" else np.nan) for _, r in runs.iterrows()
                   if r["system"] != "dummy"}
        const = runs["const_score"].dropna().iloc[0] if runs["const_score"].notna().any() else np.nan
        values = [scoring.oriented(p["metric"], v) for v in scores.values() if pd.notna(v)]
        best = scoring.oriented(p["metric"], max(values))
        lower = p["metric"] in scoring.LOWER_IS_BETTER
        table[p["dataset"]] = {k: (scoring.normalise(v, const, best, lower) if pd.notna(v) else 0.0)
                               for k, v in scores.items()}
    return pd.DataFrame.from_dict(table, orient="index")
