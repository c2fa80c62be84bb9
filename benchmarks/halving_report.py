"""Table of a ``holdout --halving both`` run: successive halving on vs off at equal budget.

    python -m benchmarks.halving_report benchmarks/results/halving_30s.json > benchmarks/results/halving_30s.md
    python -m benchmarks.halving_report seed0.json seed1.json    # several seeds: one row per dataset and seed

Per dataset: the holdout score with halving off and on, the configurations evaluated at
each rung (a trial that reached rung k was evaluated at rungs 0..k), and fit wall time.
The summary compares the mean holdout score relative to a default HistGradientBoosting
(``vs_hgb`` > 1 is better than it, whatever the metric's direction), so that datasets
with different metrics can be averaged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LOWER_IS_BETTER = {"log_loss", "rmse"}
TIE = 0.002  # relative difference counted as a tie


def _vs_hgb(row: dict) -> float:
    if row["metric"] in LOWER_IS_BETTER:
        return row["hgb"] / row["automl"]
    return row["automl"] / row["hgb"]


def _normalised(on: dict, off: dict) -> tuple[float, float] | None:
    """Both holdout scores on the scale 0 = the constant predictor, 1 = the best of halving
    on, off and HGB on that dataset (None when the rows have no constant's score). Unlike
    the ratio to HGB, it does not swing on near-perfect log losses (car: 0.006 vs 0.010)."""
    if "constant" not in on or "constant" not in off:
        return None
    scores = [on["automl"], off["automl"], on["hgb"]]
    best = min(scores) if on["metric"] in LOWER_IS_BETTER else max(scores)
    if best == on["constant"]:
        return None
    return tuple((r["automl"] - on["constant"]) / (best - on["constant"]) for r in (on, off))


def _evaluated(per_rung: dict, rung: int) -> int:
    """Configurations evaluated at ``rung``: trials whose highest rung is at least it."""
    return sum(int(n) for k, n in per_rung.items() if int(k) >= rung)


def render(rows: list[dict], budget: float) -> str:
    by = {(r["dataset"], r.get("seed", 0), r["halving"]): r for r in rows if "error" not in r}
    runs = list(dict.fromkeys((r["dataset"], r.get("seed", 0)) for r in rows))
    seeds = len({seed for _, seed in runs}) > 1
    lines = [
        "| dataset | metric | off: holdout | off: configs | off: fit s | on: holdout | on: configs at rung 0 / 1 / 2 "
        "| on: pruned | on: fit s | on vs off |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    wins = ties = losses = more = total_on = total_off = 0
    rel_on, rel_off, fits, over, norm = [], [], [], [], []
    for dataset, seed in runs:
        off, on = by.get((dataset, seed, False)), by.get((dataset, seed, True))
        name = f"{dataset} (seed {seed})" if seeds else dataset
        if not off or not on:
            lines.append(f"| {name} | error | | | | | | | | |")
            continue
        a, b = _vs_hgb(on), _vs_hgb(off)
        verdict = "tie" if abs(a - b) <= TIE * b else ("better" if a > b else "worse")
        wins, ties, losses = wins + (verdict == "better"), ties + (verdict == "tie"), losses + (verdict == "worse")
        rungs = " / ".join(str(_evaluated(on["per_rung"], k)) for k in range(3))
        more += _evaluated(on["per_rung"], 0) > _evaluated(off["per_rung"], 0)
        total_on, total_off = total_on + _evaluated(on["per_rung"], 0), total_off + _evaluated(off["per_rung"], 0)
        rel_on.append(a)
        rel_off.append(b)
        norm += [pair for pair in [_normalised(on, off)] if pair is not None]
        fits += [off["fit_s"], on["fit_s"]]
        over += [f"{name} ({mode}, {r['fit_s']:.1f} s)" for mode, r in (("off", off), ("on", on))
                 if r["fit_s"] > 1.05 * budget + 2]
        lines.append(
            f"| {name} | {on['metric']} | {off['automl']:.4g} | {off['n_trials']} | {off['fit_s']:.1f} "
            f"| {on['automl']:.4g} | {rungs} | {on['n_pruned']} | {on['fit_s']:.1f} | {verdict} |"
        )
    n = len(rel_on)
    unit = "runs (dataset x seed)" if seeds else "datasets"
    mean_on, mean_off = sum(rel_on) / max(n, 1), sum(rel_off) / max(n, 1)
    limit = 1.05 * budget + 2
    lines += [
        "",
        f"- Configurations: halving evaluated more configurations than no halving on {more} of {n} {unit}; "
        f"{total_on} against {total_off} in all.",
        f"- Holdout, relative to a default HistGradientBoosting (mean over {n} {unit}; > 1 is better): "
        f"on {mean_on:.4f}, off {mean_off:.4f} ({'not lower' if mean_on >= mean_off else 'LOWER'} with halving).",
    ]
    if norm:
        n_on, n_off = (sum(p[i] for p in norm) / len(norm) for i in (0, 1))
        lines.append(
            f"- Holdout, normalised (0 = constant predictor, 1 = the best of on, off and HGB; mean over {len(norm)} "
            f"{unit}): on {n_on:.4f}, off {n_off:.4f} ({'not lower' if n_on >= n_off else 'LOWER'} with halving).")
    lines += [
        f"- Per dataset, halving on vs off: {wins} better, {ties} tied (within {TIE:.1%}), {losses} worse.",
        f"- Fit wall time: max {max(fits, default=0):.1f} s against the limit 1.05 x {budget:g} + 2 = {limit:.1f} s"
        f" ({len(over)} over{': ' + ', '.join(over) if over else ''}).",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    rows = [row for path in (argv or sys.argv[1:]) for row in json.loads(Path(path).read_text())]
    budget = next(float(r["budget"]) for r in rows if "budget" in r)
    print(render(rows, budget))


if __name__ == "__main__":
    main()
