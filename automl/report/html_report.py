"""A single self-contained HTML report of a run (plots embedded as base64 PNG).

Built from the run report dict (:func:`automl.report.run_report.build_report`) plus the best
trial's out-of-fold predictions (``AutoML.validation_predictions_``). matplotlib is an
optional dependency (``pip install matplotlib``, or the ``report`` extra); it is imported
only here, and only its object-oriented API with the Agg canvas is used (no pyplot, no
global backend change).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.exceptions import AutoMLError

MATPLOTLIB_HINT = "the HTML report needs matplotlib: pip install matplotlib (or pip install 'automl[report]')"
MAX_LEADERBOARD_ROWS = 30
MAX_IMPORTANCE_BARS = 25
MAX_SCATTER_POINTS = 5000


class MissingDependencyError(AutoMLError):
    """An optional dependency needed for this feature is not installed."""


def require_matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(MATPLOTLIB_HINT) from None
    return Figure, FigureCanvasAgg


def _new_figure(width: float = 7.5, height: float = 4.0):
    Figure, FigureCanvasAgg = require_matplotlib()
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


# -------------------------------------------------------------------- plots --
def plot_history(report: dict) -> str | None:
    """Score of every completed trial by trial number, per model, with the running best;
    trials stopped early (pruned, out of time) or failed have no full score: ticks at the bottom."""
    board = pd.DataFrame(report.get("leaderboard", []))
    if board.empty or "score" not in board or board["score"].notna().sum() == 0:
        return None
    from matplotlib.ticker import MaxNLocator

    board = board.sort_values("trial")
    frame = board[board["score"].notna()]
    fig = _new_figure()
    ax = fig.add_subplot()
    for model, part in frame.groupby("model", sort=True):
        ax.scatter(part["trial"], part["score"], label=str(model), s=28, alpha=0.8)
    best = frame["score"].cummax().tolist()
    steps_x = frame["trial"].tolist() + [board["trial"].max()]  # carried to the last trial
    ax.step(steps_x, best + best[-1:], where="post", color="black", linewidth=1.2, label="best so far")
    unscored = board[board["score"].isna()]
    if len(unscored):
        ax.scatter(unscored["trial"], np.full(len(unscored), 0.03), transform=ax.get_xaxis_transform(),
                   marker="|", s=80, color="grey", label="stopped early / failed (no full score)")
    ax.set_xlim(board["trial"].min() - 0.5, board["trial"].max() + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"CV {report['metric']['name']} (greater is better)")
    ax.set_title("Search history")
    low = np.nanpercentile(frame["score"], 5)
    span = frame["score"].max() - low
    if span > 0:  # keep a few very bad trials from squashing the interesting range
        ax.set_ylim(low - 0.15 * span, frame["score"].max() + 0.05 * span)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def plot_importances(report: dict) -> str | None:
    records = report.get("importances") or []
    if not records:
        return None
    frame = pd.DataFrame(records[:MAX_IMPORTANCE_BARS])
    if "importance" not in frame:
        return None
    frame = frame.iloc[::-1]
    fig = _new_figure(7.5, max(2.5, 0.3 * len(frame) + 1))
    ax = fig.add_subplot()
    xerr = None
    if {"ci_low", "ci_high"} <= set(frame.columns):
        lo = (frame["importance"] - frame["ci_low"]).clip(lower=0).fillna(0)
        hi = (frame["ci_high"] - frame["importance"]).clip(lower=0).fillna(0)
        xerr = np.vstack([lo.to_numpy(float), hi.to_numpy(float)])
    elif "std" in frame:
        xerr = frame["std"].fillna(0).to_numpy(float)
    ax.barh(frame["feature"].astype(str), frame["importance"].astype(float), xerr=xerr, color="#4c72b0", capsize=2)
    ax.set_xlabel("importance")
    ax.set_title("Feature importances" + (" (bars: confidence interval)" if xerr is not None else ""))
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_confusion(report: dict) -> str | None:
    val = report.get("validation") or {}
    if "confusion_matrix" not in val:
        return None
    matrix = np.asarray(val["confusion_matrix"], dtype=float)
    labels = val["labels"]
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    n = len(labels)
    size = min(9.0, 3.0 + 0.45 * n)
    fig = _new_figure(size + 1, size)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels=[str(x) for x in labels], rotation=45 if n > 6 else 0)
    ax.set_yticks(range(n), labels=[str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"Confusion matrix (out-of-fold, {val['rows']} rows)")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                color = "white" if share[i, j] > 0.6 else "black"
                ax.text(j, i, f"{int(matrix[i, j])}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8, color=color)
    fig.colorbar(image, ax=ax, label="share of the actual class")
    return _png(fig)


def plot_predicted_vs_actual(validation: pd.DataFrame | None) -> str | None:
    if validation is None or "y_pred" not in validation:
        return None
    frame = validation
    if len(frame) > MAX_SCATTER_POINTS:
        frame = frame.sample(MAX_SCATTER_POINTS, random_state=0)
    y, p = frame["y_true"].to_numpy(float), frame["y_pred"].to_numpy(float)
    fig = _new_figure(6, 5.5)
    ax = fig.add_subplot()
    ax.scatter(y, p, s=10, alpha=0.4, color="#4c72b0", edgecolors="none")
    lo, hi = float(np.nanmin([y.min(), p.min()])), float(np.nanmax([y.max(), p.max()]))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="predicted = actual")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted (out-of-fold)")
    ax.set_title(f"Predicted vs actual ({len(validation)} rows)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


# --------------------------------------------------------------------- HTML --
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#eef6ee}
.muted{color:#777}.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.4em .8em}
img{max-width:100%;height:auto;display:block;margin:.5em 0}code{font-size:.85em;background:#f6f6f6;padding:0 3px}
.params{max-width:420px;word-break:break-word;font-family:monospace;font-size:.8em}
"""


def _esc(value: Any) -> str:
    if value is None:
        return '<span class="muted">-</span>'
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, (dict, list)):
        return html.escape(json.dumps(value, sort_keys=True, default=str))
    return html.escape(str(value))


def _kv_table(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_esc(v)}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def _table(records: list[dict], columns: list[str], numeric: tuple[str, ...] = (), highlight=None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for i, rec in enumerate(records):
        cells = []
        for c in columns:
            css = ' class="num"' if c in numeric else (' class="params"' if c == "params" else "")
            cells.append(f"<td{css}>{_esc(rec.get(c))}</td>")
        cls = ' class="best"' if highlight is not None and highlight(i, rec) else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f'<p class="muted">No data for the {html.escape(alt.lower())}.</p>'
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _final_model_section(report: dict) -> str:
    ens = report["ensemble"]
    notes = "".join(f'<p class="muted">{_esc(n)}</p>' for n in ens.get("notes", []))
    if ens["kind"] == "ensemble" and ens["members"]:
        cols = list(dict.fromkeys(k for m in ens["members"] for k in m))
        table = _table(ens["members"], cols, ("weight",))
        return f"<p>Ensemble of {len(ens['members'])} pipelines:</p>" + table + notes
    best = report["best"]
    return (
        f"<p>The single best pipeline, <b>{_esc(best['model'])}</b> (trial {_esc(best['trial'])}), "
        f"{_esc(ens.get('how', 'refit on all rows'))}; "
        f"no ensemble.</p>" + notes + _kv_table([("parameters", best["params"])])
    )


def _validation_section(report: dict, validation: pd.DataFrame | None) -> str:
    val = report.get("validation")
    if not val:
        return '<p class="muted">No out-of-fold predictions were kept for this model.</p>'
    intro = (
        "<p>Out-of-fold predictions of the best trial on its validation rows (each row predicted by a model "
        "that did not see it).</p>"
    )
    if "confusion_matrix" in val:
        return intro + _kv_table([("rows", val["rows"]), ("accuracy", val["accuracy"])]) + _img(
            plot_confusion(report), "Confusion matrix"
        )
    metrics = _kv_table([("rows", val["rows"]), ("RMSE", val["rmse"]), ("MAE", val["mae"]), ("R²", val["r2"])])
    if validation is None:
        return intro + metrics + ('<p class="muted">No predicted-vs-actual plot: it needs the training rows\' '
                                  "targets, which the model keeps only with keep_training_sample=True.</p>")
    return intro + metrics + _img(plot_predicted_vs_actual(validation), "Predicted vs actual plot")


def render_html(report: dict, validation: pd.DataFrame | None = None) -> str:
    """The HTML document (a string). Raises MissingDependencyError without matplotlib."""
    require_matplotlib()  # fail before doing any work
    task, best, trials, t = report["task"], report["best"], report["trials"], report["timings"]
    metric = report["metric"]["name"]
    title = f"automl report: {report['target']} ({task['task']})"
    summary = _kv_table([
        ("target", report["target"]),
        ("task", f"{task['task']} ({task['reason']})"),
        ("classes", ", ".join(map(str, report["classes"])) if report.get("classes") else None),
        ("training rows", report["rows"]),
        ("columns", f"{len(report['features'])} ({sum(c['used'] for c in report['columns'])} used)"),
        ("metric", f"{metric} (greater is better)"),
        ("best model", f"{best['model']} (trial {best['trial']})"),
        ("best CV score", best["score"]),
        ("trials", f"{trials['total']} ({trials['completed']} completed, {trials['pruned']} stopped early, "
                   f"{trials['failed']} failed)"),
        ("time", f"{t.get('total', '-')} s (budget {t.get('budget') or 'none'})"),
        ("model file", report.get("model_path")),
        ("training rows kept", (report.get("training_rows_kept") or {}).get("note")),
        ("input", report.get("input")),
    ])
    board = report.get("leaderboard", [])[:MAX_LEADERBOARD_ROWS]
    board_cols = [c for c in ("trial", "model", "score", "status", "rung", "resource", "fit_time", "params", "error")
                  if any(c in r for r in board)]
    best_trial = best.get("trial")
    leaderboard = _table(board, board_cols, ("trial", "score", "rung", "fit_time"),
                         highlight=lambda i, r: r.get("trial") == best_trial)
    if report.get("importances"):
        imp_cols = list(dict.fromkeys(k for r in report["importances"] for k in r))
        importances = _img(plot_importances(report), "Feature importance plot") + _table(
            report["importances"][:MAX_IMPORTANCE_BARS], imp_cols, tuple(c for c in imp_cols if c != "feature")
        )
        if report.get("explanation"):
            importances += f"<p>{html.escape(report['explanation']).replace(chr(10), '<br>')}</p>"
    else:
        importances = f'<p class="note">{html.escape(report.get("importances_note") or "Not available.")}</p>'
    columns = _table(report["columns"], ["name", "role", "dtype", "n_unique", "n_missing", "used", "reason"],
                     ("n_unique", "n_missing"))
    skipped = report.get("skipped_models") or {}
    skipped_html = (_kv_table(list(skipped.items())) if skipped else '<p class="muted">None.</p>')
    more = ("" if trials["total"] <= MAX_LEADERBOARD_ROWS
            else f'<p class="muted">Top {MAX_LEADERBOARD_ROWS} of {trials["total"]} trials.</p>')
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">automl {html.escape(str(report.get("automl_version")))}, '
        f'report created {html.escape(str(report.get("created")))}</p>',
        "<h2>Summary</h2>", summary,
        "<h2>Final model</h2>", _final_model_section(report),
        "<h2>Leaderboard</h2>", more, leaderboard,
        "<h2>Search history</h2>", _img(plot_history(report), "Search history plot"),
        "<h2>Feature importances</h2>", importances,
        "<h2>Held-out performance</h2>", _validation_section(report, validation),
        "<h2>Columns</h2>", columns,
        "<h2>Models not searched</h2>", skipped_html,
        "<h2>Timings (s)</h2>", _kv_table(list(t.items())),
        "<h2>Versions</h2>", _kv_table(list((report.get("versions") or {}).items())),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_html(report: dict, path: Path, validation: pd.DataFrame | None = None) -> Path:
    """Render the report and write it to ``path`` (UTF-8)."""
    path = Path(path)
    document = render_html(report, validation)
    path.write_text(document, encoding="utf-8")
    return path
