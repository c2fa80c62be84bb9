"""A plain-language summary of what a fitted model relies on, and a plot of its importances.

The summary is built from ``AutoML.feature_importances`` (see ``automl.inspection.importances``):
the columns whose shuffling costs the most, with their share of the model's skill (its
score minus a constant prediction's), the columns whose importance interval contains 0,
the columns dropped before modelling, and for the top numeric columns the direction of
their effect, read from partial dependence: the mean prediction (regression) or class
probability (binary: the second class; multiclass: the class that moves most) while the
column is set, on every row, to each of its 5%..95% quantiles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.data.inputs import select_features
from automl.inspection.importances import evaluation_data, predictions, sample_rows
from automl.data.profile import Role

TOP = 3
PD_QUANTILES = np.linspace(0.05, 0.95, 9)
PD_ROWS = 500
#: A curve is monotone when no step goes against its direction by more than this share of its range.
MONOTONE_SLACK = 0.1


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _share(share: float) -> str:
    # Shuffling a column can make the model worse than a constant prediction (e.g. for log loss).
    return "more than all of the skill" if share > 1 else f"{share:.0%} of the skill"


def _names(columns) -> str:
    return ", ".join(map(str, columns))


def partial_dependence(aml, X: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``(grid, curve, what)``: the mean of ``what`` (prediction or class probability) with
    ``column`` set to each grid value on every row of ``X``; None for fewer than 2 values."""
    values = pd.to_numeric(X[column], errors="coerce").dropna()
    if values.empty:
        return None
    grid = np.unique(np.quantile(values, PD_QUANTILES))
    if len(grid) < 2:
        return None
    curves = np.array([predictions(aml, X.assign(**{column: g})).mean(axis=0) for g in grid])
    if not aml.task_.is_classification:
        return grid, curves, f"predicted {aml.target_}"
    k = 1 if curves.shape[1] == 2 else int(np.argmax(np.ptp(curves, axis=0)))
    label = aml.classes_[k].item() if isinstance(aml.classes_[k], np.generic) else aml.classes_[k]
    return grid, curves[:, k], f"probability of {label!r}"


def describe_effect(column: str, grid: np.ndarray, curve: np.ndarray, what: str) -> str:
    """One sentence: higher ``column`` raises / lowers ``what``, or where it peaks."""
    span = float(np.ptp(curve))
    steps = np.diff(curve)
    ends = f"{_num(curve[0])} at {_num(grid[0])} → {_num(curve[-1])} at {_num(grid[-1])}"
    if span == 0:
        return f"{column}: no visible effect on {what}."
    if (steps >= -MONOTONE_SLACK * span).all():
        return f"higher {column} → higher {what} ({ends})."
    if (steps <= MONOTONE_SLACK * span).all():
        return f"higher {column} → lower {what} ({ends})."
    hi, lo = int(np.argmax(curve)), int(np.argmin(curve))
    return (f"{column} has a non-monotonic effect: {what} is highest ({_num(curve[hi])}) near "
            f"{column} = {_num(grid[hi])} and lowest ({_num(curve[lo])}) near {_num(grid[lo])}.")


def summary(aml, X=None, y=None, background: pd.DataFrame | None = None) -> str:
    """See ``AutoML.explain``. ``background``: feature rows for the direction of the effects
    when no ``X`` is given (None: the model keeps no rows, the directions are left out)."""
    imp = aml.feature_importances(X, y)
    meta = imp.attrs
    used = imp[imp["note"] == ""]
    matter = used[used["ci_low"] > 0]
    idle = used[used["ci_low"] <= 0]
    ens = aml.ensemble_
    final = ("the single best pipeline" if ens.method == "single"
             else f"a {ens.method} ensemble of {len(ens.members)} pipelines")
    skill = meta["baseline_score"] - meta["null_score"]
    tied = [f"{c} among rows alike in {p}" for c, p in used["conditioned_on"].items() if p][:3]
    how = f" (a column tied to another is shuffled among rows alike in it: {'; '.join(tied)})" if tied else ""
    lines = [
        f"The final model ({final}, {aml.task_.value}) predicts {aml.target_!r}. Importance is the drop in "
        f"{meta['metric']} when a column's values are shuffled{how}, measured on {meta['n_rows']} rows of "
        f"{meta['data']}; the model scores {meta['baseline_score']:.4g} there, a constant prediction "
        f"{meta['null_score']:.4g}."
    ]
    if skill <= 0:
        lines.append("The model does not beat a constant prediction on these rows, so no column carries skill.")
    elif matter.empty:
        lines.append("No column matters beyond noise: shuffling any one of them changes the score by less "
                     "than its spread.")
    else:
        top = matter.head(TOP)
        parts = [f"{c} (drop {_num(r.importance)}, {_share(r.importance / skill)})" for c, r in top.iterrows()]
        lines.append(f"Most important: {'; '.join(parts)}. The model's skill is its score minus a constant "
                     f"prediction's ({_num(skill)}); shares can overlap when columns carry the same information.")
    if len(idle):
        lines.append(f"Do not matter (importance interval contains 0 or is below it): {_names(idle.index)}.")
    dropped = imp[imp["note"] != ""]
    if len(dropped):
        lines.append(f"Not used (dropped before modelling): {_names(dropped.index)}.")
    effects = _effects(aml, X, y, matter, background)
    if effects is None:
        lines.append("For the direction of the effects, pass data: the model keeps no training rows "
                     "(explain(X), or automl explain MODEL DATA).")
    elif effects:
        lines.append("Direction of the effects (partial dependence over the 5%-95% quantiles):")
        lines.extend(f"- {e}" for e in effects)
    return "\n".join(lines)


def _effects(aml, X, y, matter: pd.DataFrame, background: pd.DataFrame | None) -> list[str] | None:
    """One sentence per top numeric column; None when there are no rows to compute them on."""
    numeric = set(aml.profile_.names(Role.NUMERIC))
    columns = [c for c in matter.index if c in numeric][:TOP]
    if not columns:
        return []
    if X is not None:
        features, _ = evaluation_data(aml, X, y, len(X))
    elif background is not None:
        features = select_features(background, list(aml.feature_columns_)).reset_index(drop=True)
    else:
        return None
    features = features.iloc[sample_rows(len(features), PD_ROWS, aml.seed)]
    out = []
    for column in columns:
        pd_curve = partial_dependence(aml, features, column)
        if pd_curve is not None:
            out.append(describe_effect(column, *pd_curve))
    return out


def plot_importances(aml, path=None, top: int = 20, X=None, y=None):
    """See ``AutoML.plot_importances``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_importances needs matplotlib: pip install matplotlib") from None
    imp = aml.feature_importances(X, y)
    shown = imp[imp["note"] == ""].head(top).iloc[::-1]  # the most important at the top
    fig = Figure(figsize=(7, 1.2 + 0.3 * len(shown)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    err = np.vstack([shown["importance"] - shown["ci_low"], shown["ci_high"] - shown["importance"]])
    ax.barh([str(c) for c in shown.index], shown["importance"], xerr=err, capsize=3, color="#4c72b0")
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_xlabel(f"drop in {imp.attrs['metric']} when the column is shuffled (bars: 95% interval)")
    ax.set_title(f"Feature importances of {aml.target_!r} ({imp.attrs['n_rows']} rows of {imp.attrs['data']})")
    if path is not None:
        fig.savefig(path)
    return fig
