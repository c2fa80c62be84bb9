"""Markdown report, plot and the machine/versions header of a benchmark run."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import analysis, scoring

PACKAGES = ("automl", "scikit-learn", "lightgbm", "xgboost", "optuna", "flaml", "torch", "numpy", "pandas")


def environment(cpus: int) -> dict:
    """Date, machine (CPU, cores, RAM, GPU) and package versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else np.nan
    gpu = "no GPU"
    if shutil.which("nvidia-smi"):
        try:
            found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout.strip()
            gpu = found.splitlines()[0] if found else gpu
        except (OSError, subprocess.SubprocessError):
            pass
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {"date": dt.date.today().isoformat(), "cpu": cpu, "cores": os.cpu_count(), "cpus": cpus,
            "ram_gib": round(ram), "gpu": gpu, "versions": versions, "commit": _commit()}


def _commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "automl", "plugins"], cwd=root,
                               capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in automl/ or plugins/' if dirty else ''}" if head else "unknown"


def _systems(frame: pd.DataFrame) -> list[str]:
    order = ["automl", "flaml", "hgb", "lgbm"]
    present = list(dict.fromkeys(frame["system"]))
    return [s for s in order if s in present] + [s for s in present if s not in order]


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _str(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else str(v)


def _int(v) -> str:
    return str(int(v)) if isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v) else "-"


def _num(v, digits: int = 4) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def markdown(frame: pd.DataFrame, pair_rows: pd.DataFrame, budget: float, env: dict, command: str,
             notes: list[str], peers: pd.DataFrame | None = None) -> str:
    by_dataset = analysis.per_dataset(pair_rows)
    systems = _systems(frame)
    seeds = sorted(frame["seed"].unique())
    datasets = list(dict.fromkeys(frame["dataset"]))
    v = env["versions"]
    out = [f"# automl against FLAML and default gradient boosting at a {budget:g} s budget", "",
           f"Date {env['date']}; {env['cpu']}, {env['cores']} cores ({env['cpus']} given to each run), "
           f"{env['ram_gib']} GiB RAM, {env['gpu']}; " + ", ".join(f"{k} {val}" for k, val in v.items())
           + f"; commit {env['commit']}.", "",
           f"`{command}`: {len(datasets)} datasets, seeds {', '.join(map(str, seeds))}. Protocol as in "
           "`shared/benchmarks/PEERS.md`: 75/25 split (`train_test_split(test_size=0.25, random_state=seed)`, "
           "stratified for classification); each system fits on the 75% in a process of its own, one at a time, "
           "with the same CPUs. Primary metric on the 25%: ROC AUC (binary), log loss (multiclass, lower is "
           "better), R² (regression). Normalised score: 0 = constant predictor (AUC 0.5, log loss of the training "
           "class priors, R² 0), 1 = the best system on that split; a failed run scores 0. Noise: standard "
           f"deviation of the paired difference over {scoring.N_BOOT} bootstrap resamples of the test rows; "
           f"within {scoring.Z:g} noise is a tie. \"automl single\" is automl's best single pipeline (refit on all "
           "rows) scored on the same rows: the final model without the ensemble.", ""]
    out += [f"- {n}" for n in notes] + ([""] if notes else [])
    out += ["## Targets", ""] + [f"- **{s}** {text}" for s, text in analysis.targets(frame, by_dataset, budget)]
    out += ["", "## Summary", ""]
    means = analysis.system_means(frame)
    rows = []
    for s in systems:
        runs = frame[frame["system"] == s]
        ok = runs[runs["status"] == "ok"]
        best_count = int((runs.groupby("dataset")["norm_score"].mean() >= 1 - 1e-12).sum())
        rows.append([s, _num(means.get(s), 3), best_count, int((runs["status"] != "ok").sum()),
                     _num((ok["fit_s"] / budget).max(), 2), _num(ok["predict_1row_ms"].median(), 1),
                     _num(ok["predict_1row_ms"].max(), 1), _num(ok["predict_1000_ms"].median(), 1),
                     _num(ok["peak_rss_mb"].max(), 0)])
    out += _table(["system", "mean normalised", "datasets best", "failures", "fit / budget, max",
                   "1-row predict ms, median", "max", "1,000 rows ms, median", "peak RSS MB, max"], rows)
    ours = frame[frame["system"] == "automl"]
    if ours["single_norm"].notna().any():
        out += ["", f"automl's best single model alone: mean normalised {ours['single_norm'].mean():.3f}."]
    out += ["", "## Holdout score per dataset", "", "Primary metric, mean over seeds; bold: best of the systems."]
    columns = systems[:1] + (["automl single"] if "single_score" in frame else []) + systems[1:]
    rows = []
    for d in datasets:
        runs = frame[frame["dataset"] == d]
        metric = runs["metric"].iloc[0]
        score = {s: runs.loc[(runs["system"] == s) & (runs["status"] == "ok"), "score"].mean() for s in systems}
        if "single_score" in frame:
            score["automl single"] = runs.loc[runs["system"] == "automl", "single_score"].mean()
        finite = [scoring.oriented(metric, score[s]) for s in systems if pd.notna(score[s])]
        best = max(finite) if finite else np.nan
        cells = [(f"**{_num(score[c])}**" if c in systems and pd.notna(score[c])
                  and scoring.oriented(metric, score[c]) == best else _num(score[c])) for c in columns]
        rows.append([d, metric, _num(runs["const_score"].mean()), *cells])
    out += [""] + _table(["dataset", "metric", "constant", *columns], rows)
    out += ["", "## Normalised score per dataset", ""]
    norm = frame.pivot_table(index="dataset", columns="system", values="norm_score", aggfunc="mean")
    single = ours.groupby("dataset")["single_norm"].mean()
    rows = [[d, *[_num(norm.at[d, s], 3) if s in norm else "-" for s in systems[:1]],
             *([_num(single.get(d), 3)] if "single_score" in frame else []),
             *[_num(norm.at[d, s], 3) for s in systems[1:]]] for d in datasets]
    out += _table(["dataset", *columns], rows)
    out += ["", "## automl against each system, per dataset", "",
            "automl minus the other on the primary metric (sign flipped for log loss: positive = automl "
            f"better) ± noise; win / tie / loss beyond {scoring.Z:g} noise. Last column: automl's final model "
            "against its best single model (issue #4; 0 exactly when no ensemble was kept)."]
    opponents = list(dict.fromkeys(by_dataset["b"]))
    rows = []
    for d in datasets:
        cells = []
        for b in opponents:
            hit = by_dataset[(by_dataset["dataset"] == d) & (by_dataset["b"] == b)]
            if hit.empty:
                cells.append("-")
                continue
            r = hit.iloc[0]
            cells.append(f"{r['verdict']} ({r['note']})" if pd.isna(r["diff"])
                         else f"{r['diff']:+.4f} ± {_num(r['noise'])} {r['verdict']}")
        rows.append([d, frame.loc[frame["dataset"] == d, "metric"].iloc[0], *cells])
    out += [""] + _table(["dataset", "metric", *[("final vs single" if b == analysis.SINGLE else f"vs {b}")
                                                 for b in opponents]], rows)
    out += ["", "## automl runs", ""]
    rows = [[r["dataset"], r["seed"], r["status"], _num(r.get("fit_s"), 1), _str(r.get("ensemble")),
             _int(r.get("ensemble_members")), _str(r.get("best_model")), _int(r.get("n_trials")),
             _num(r.get("predict_1row_ms"), 1), _num(r.get("predict_1000_ms"), 1), _num(r.get("peak_rss_mb"), 0)]
            for _, r in ours.iterrows()]
    out += _table(["dataset", "seed", "status", "fit s", "final model", "members", "best single", "trials",
                   "1-row ms", "1,000 rows ms", "peak RSS MB"], rows)
    if peers is not None:
        out += _peers_section(frame, peers)
    failed = frame[frame["status"] != "ok"]
    out += ["", "## Errors", ""] + ([f"- {r['dataset']} seed {r['seed']} {r['system']}: {r['error']}"
                                     for _, r in failed.iterrows()] or ["None."])
    return "\n".join(out) + "\n"


def _peers_section(frame: pd.DataFrame, peers: pd.DataFrame) -> list[str]:
    table = analysis.with_peers(frame, peers)
    if table.empty:
        return ["", "## Against the published peers", "", "No dataset in common with seed 0."]
    cols = list(table.columns)
    rows = [[d, *[_num(table.at[d, c], 3) for c in cols]] for d in table.index]
    rows.append(["**mean normalised**", *[f"**{_num(table[c].mean(), 3)}**" for c in cols]])
    return ["", "## Against the published peers", "",
            "Seed 0 only, normalised with 1 = the best of our runs and the peers' published scores "
            "(`shared/benchmarks/PEERS.md`, measured on another machine of the same kind: compare with care).",
            ""] + _table(["dataset", *cols], rows)


def plot(frame: pd.DataFrame, path: Path, budget: float) -> str | None:
    """Normalised score per dataset per system (dots); returns a note when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot (pip install matplotlib)"
    norm = frame.pivot_table(index="dataset", columns="system", values="norm_score", aggfunc="mean")
    norm = norm.reindex(list(dict.fromkeys(frame["dataset"])))
    systems = [s for s in _systems(frame) if s in norm]
    lowest = float(np.nanmin(norm.to_numpy())) if norm.notna().any().any() else 0.0
    bottom = max(-0.05, min(0.8, lowest) - 0.02)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(norm) + 2), 4.5))
    x = np.arange(len(norm))
    markers = "oDs^vP*X"
    for i, s in enumerate(systems):
        values = norm[s].to_numpy(dtype=float)
        shown = np.clip(values, bottom, None)
        ax.scatter(x + (i - (len(systems) - 1) / 2) * 0.12, shown, label=f"{s} ({np.nanmean(values):.3f})",
                   marker=markers[i % len(markers)], s=30, alpha=0.85)
    ax.set_xticks(x, norm.index, rotation=60, ha="right")
    ax.set_ylim(bottom - 0.01, 1.02)
    ax.set_ylabel("normalised score (0 constant, 1 best)")
    clipped = bool((norm.to_numpy(dtype=float) < bottom).any())
    ax.set_title(f"Normalised holdout score, {budget:g} s budget" + (f" (below {bottom:.2f}: shown at it)"
                 if clipped else ""), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title="system (mean)", fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None
