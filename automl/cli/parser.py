"""The ``automl`` command line's grammar: subcommands, options and their value checks.

A bad command line raises :class:`UsageError` (exit status 2), one line that names the
option and what was expected. :func:`build_parser` only parses: :func:`automl.cli.main.main`
runs the handler named after the subcommand (:mod:`automl.cli.commands`).
"""

from __future__ import annotations

import argparse
import textwrap

from automl import __version__
from automl.exceptions import AutoMLError

DEFAULT_TIME = 60.0
TASKS = ("auto", "binary", "multiclass", "regression", "classification")


class UsageError(AutoMLError):
    """A bad command line: exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``automl fit: error: ...``) raised as UsageError."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# ------------------------------------------------------------- value parsers --
def _number(kind, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} expected, got {text!r}") from None


def seconds(text: str) -> float | None:
    """A time budget: positive seconds; 0 (or 'none') for no time limit."""
    if text.strip().lower() in ("none", "inf", "0"):
        return None
    value = _number(float, text, "a number of seconds")
    if value < 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds (or 0 for no limit) expected, got {text!r}")
    return value or None


def _trust_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust", action="append", default=[], metavar="TYPE",
                   help="rebuild this type (module.Class) from the model file although no installed plugin declares "
                        "it; repeatable. Only for a file you trust: a model file never runs code, trusted types "
                        "are what it may build")


def memory_size(text: str):
    """--memory-limit: 'auto', 'none', megabytes or a size with a unit ('4GB')."""
    from automl.search.memory import parse_limit

    value = None if text.strip().lower() == "none" else text.strip()
    try:
        parse_limit(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def trial_seconds(text: str):
    """--trial-time-limit: 'auto', 'none' or positive seconds."""
    if text.strip().lower() in ("auto", "none"):
        return text.strip().lower() if text.strip().lower() == "auto" else None
    value = _number(float, text, "a number of seconds")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds, 'auto' or 'none' expected, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = _number(int, text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive integer expected, got {text!r}")
    return value


def jobs(text: str) -> int:
    value = _number(int, text, "an integer")
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"a positive number of threads, or -1 for all cores, expected, got {text!r}")
    return value


def _auto_or_count(text: str, what: str, note: str = "") -> int | str:
    """``"auto"`` or a whole number >= 1 of ``what`` (folds, repeats)."""
    if text == "auto":
        return "auto"
    value = _number(int, text, f"'auto' or a number of {what}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"'auto' or a number of {what} >= 1{note} expected, got {text!r}")
    return value


def cv_value(text: str) -> int | str:
    return _auto_or_count(text, "folds", " (1: a holdout)")


def repeats_value(text: str) -> int | str:
    return _auto_or_count(text, "repeats")


def name_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"a comma-separated list of names expected, got {text!r}")
    return names


# ------------------------------------------------------------------- parser --
_FIT_EPILOG = f"""\
With no option, fit detects the task, searches for {DEFAULT_TIME:g} seconds, prints the task
and why, the leaderboard, the final model and (when available) the top feature
importances, and writes two files in the current directory, named after the input:
  data.automl       the fitted model (automl predict/explain/info/report read it)
  data.automl.json  the run report (task, column roles, trials, pruning, final model,
                    importances, timings), for programs
--out PATH changes the model's path; the run report is PATH.json beside it.

examples:
  automl fit train.csv --target price
  automl fit train.csv.gz --target churn --time 300 --metric f1 --out churn.automl
  automl fit train.parquet --target y --models lightgbm,xgboost --trials 50 --quiet
  cat train.csv | automl fit - --target y --out model.automl
"""

_INPUT_HELP = (
    "CSV file (delimiter sniffed; .gz/.bz2/.zip/.xz by extension; UTF-8, with or without "
    "BOM), Parquet file (.parquet, needs pyarrow), or - for CSV on stdin"
)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of errors")


def _sub(sub, name: str, help: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
    p = sub.add_parser(
        name, help=help, description=textwrap.fill(description, 88), epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(p)
    return p


def _search_args(p: argparse.ArgumentParser, worker: bool) -> None:
    """The search options, shared by ``fit`` and ``worker`` (a worker needs --storage and --study-name)."""
    g = p.add_argument_group("search")
    g.add_argument("--time", type=seconds, default=DEFAULT_TIME, metavar="SECONDS",
                   help=(f"time for this worker's trials (default {DEFAULT_TIME:g}; 0: until the fit of the study "
                         "ends its search)") if worker else
                        (f"time budget for the whole fit, search and refit (default {DEFAULT_TIME:g}; 0: no limit, "
                         "stop with --trials or Ctrl-C, which keeps the trials finished so far)"))
    g.add_argument("--trials", type=positive_int, metavar="N",
                   help="stop after N trials (default: no limit; whichever of --time and --trials comes first)")
    g.add_argument("--metric", metavar="NAME",
                   help="a scikit-learn scorer name or alias: auc, log_loss, rmse, mae, accuracy, f1, r2 ..., "
                        "or a plugin's metric (see 'automl plugins') (default: roc_auc for binary, "
                        "neg_log_loss for multiclass, RMSE for regression)")
    g.add_argument("--task", choices=TASKS, default="auto", help="the task (default: auto, detected from the target)")
    g.add_argument("--models", type=name_list, action="extend", metavar="M1,M2",
                   help="search only these models (see 'automl plugins'; default: all that fit the task)")
    g.add_argument("--exclude-models", type=name_list, action="extend", default=[], metavar="M1,M2",
                   help="models not to search")
    g.add_argument("--ignore", type=name_list, action="extend", default=[], metavar="COL1,COL2",
                   help="columns not to use as features (id-like and constant columns are dropped anyway)")
    g.add_argument("--cv", type=cv_value, default="auto", metavar="K",
                   help="'auto' (default: 5 folds up to 5k rows, 3 up to 10k (50k with a budget of 10 min or more), else a 20%% holdout), "
                        "a number of folds, or 1 for a holdout")
    g.add_argument("--cv-repeats", type=repeats_value, default="auto", metavar="R",
                   help="'auto' (default: the folds drawn twice on tables of up to 2,000 rows with --time 60 "
                        "or more, else once) or how many times to draw the folds (each out-of-fold prediction is "
                        "the mean over the draws)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    if not worker:
        g.add_argument("--infer-limit", type=seconds, default=0.04, metavar="SECONDS",
                       help="seconds the final model may take to predict one row: slower ensemble members are left "
                            "out (default 0.04; 0: no limit). --time 0 --trials N --infer-limit 0 makes a seeded run "
                            "reproducible")
    g.add_argument("--jobs", type=jobs, default=-1, metavar="N", help="threads the models may use (default -1: all cores)")
    g.add_argument("--isolation", choices=("auto", "process", "none"), default="auto",
                   help="where trials train: auto (default: third-party plugins' models in a worker process that "
                        "is stopped at the deadline, the per-trial time limit or the memory limit; built-in ones here), "
                        "process (every model in the worker), none (every model here)")
    g.add_argument("--memory-limit", type=memory_size, default="auto", metavar="SIZE",
                   help="memory one trial may use: auto (default: half the memory available), megabytes, a size "
                        "such as 4GB, or none; a trial predicted to need more is skipped")
    g.add_argument("--trial-time-limit", type=trial_seconds, default="auto", metavar="SECONDS",
                   help="seconds a trial in the worker process may train before it is killed (default auto: a "
                        "tenth of --time; none: no limit)")
    g.add_argument("--storage", metavar="URL", required=worker,
                   help="Optuna storage for the study: sqlite:///search.db on one machine, "
                        "postgresql+psycopg://user@host/db for many (pip install 'automl[postgres]')"
                        + ("" if worker else " (default: in memory)"))
    g.add_argument("--study-name", metavar="NAME", required=worker,
                   help="the study's name; with --storage an existing study is joined: its finished trials "
                        "are not trained again")
    g.add_argument("--artifacts", metavar="DIR",
                   help="where the trials' out-of-fold predictions go, a directory every process reaches "
                        "(default: beside a SQLite file, DB-artifacts/)")


def _fit_parser(sub) -> None:
    p = _sub(sub, "fit", "search for the best model of a CSV/Parquet table and save it",
             "Search for the best model of TARGET from the other columns of DATA, refit it on all "
             "rows and save it.", _FIT_EPILOG)
    p.add_argument("data", metavar="DATA", help=_INPUT_HELP)
    p.add_argument("-t", "--target", required=True, metavar="COL", help="the column to predict (required)")
    _search_args(p, worker=False)
    o = p.add_argument_group("output")
    o.add_argument("-o", "--out", metavar="PATH", help="where to write the model (default: ./<input name>.automl)")
    o.add_argument("--report", metavar="PATH", help="where to write the JSON run report (default: <model path>.json)")
    o.add_argument("--json", action="store_true", help="print the JSON run report on stdout instead of the summary")
    o.add_argument("--keep-training-sample", action="store_true",
                   help="keep up to 2,000 training rows and the out-of-fold predictions' targets in the model file "
                        "(default: the file holds no training rows)")
    o.add_argument("--top", type=positive_int, default=10, metavar="N", help="leaderboard rows and features shown (default 10)")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar or log on stderr (errors still show)")
    o.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="automl",
        description=textwrap.fill("Plugin-based AutoML for tabular data: fit a model on a CSV or Parquet "
                                  "file, predict with it, explain it, report on it.", 88),
        epilog="examples:\n  automl fit train.csv --target y\n  automl predict train.automl test.csv > preds.csv\n"
               "  automl report train.automl --html report.html\n\n"
               "Run 'automl COMMAND --help' for a command's options. Exit status: 0 success, "
               "1 failure, 2 usage error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"automl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    _fit_parser(sub)
    p = _sub(sub, "worker", "run trials into a shared study, beside an 'automl fit' of it",
             "Join the study NAME in --storage (created if it does not exist) and run trials on DATA until "
             "--time runs out or the 'automl fit' of the study ends its search; build no model. Start "
             "workers on other machines (or processes) with the same DATA, --target and search options "
             "as the fit: a worker with other data or settings is refused. A worker killed mid-trial "
             "loses only that trial, which is tried again.",
             "examples:\n  automl worker train.csv --target y --storage postgresql+psycopg://me@db/automl "
             "--study-name churn --artifacts /shared/churn\n"
             "  automl fit train.csv --target y --storage postgresql+psycopg://me@db/automl "
             "--study-name churn --artifacts /shared/churn --time 600")
    p.add_argument("data", metavar="DATA", help=_INPUT_HELP)
    p.add_argument("-t", "--target", required=True, metavar="COL", help="the column to predict (required)")
    _search_args(p, worker=True)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or log on stderr (errors still show)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug log on stderr")

    p = _sub(sub, "predict", "predict with a saved model; CSV on stdout",
             "Predict TARGET for every row of DATA with a model saved by 'automl fit'. Writes CSV "
             "to stdout (or --out): one column named after the target, or one column per class "
             "with --proba; the --id column first when given.",
             "examples:\n  automl predict titanic.automl test.csv --id PassengerId > submission.csv\n"
             "  automl predict model.automl new.csv.gz --proba --out proba.csv")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'automl fit'")
    p.add_argument("data", metavar="DATA", help=_INPUT_HELP)
    p.add_argument("-o", "--out", metavar="PATH", help="write here instead of stdout (.gz/.bz2/.zip/.xz compress; .parquet)")
    p.add_argument("--proba", action="store_true", help="class probabilities, one column per class (classification)")
    p.add_argument("--id", metavar="COL", help="copy this column of DATA into the output, first")
    _trust_option(p)

    p = _sub(sub, "explain", "feature importances and a plain-language summary of a saved model",
             "Print the feature importance table (importance, spread, confidence interval, rank) "
             "and a plain-language summary of what the model relies on. With DATA (it must hold the "
             "target column) they are measured on it; without, the model file's own are shown: those "
             "'automl fit' measured out of fold (a model file keeps no training rows).",
             "examples:\n  automl explain model.automl\n  automl explain model.automl holdout.csv --top 10")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'automl fit'")
    p.add_argument("data", metavar="DATA", nargs="?", help="held-out rows with the target column (optional); "
                   + _INPUT_HELP)
    p.add_argument("--top", type=positive_int, metavar="N", help="show only the N most important features")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _trust_option(p)

    p = _sub(sub, "report", "summary of a saved model's run; --html for a self-contained HTML report",
             "Print the run summary of a saved model (or its JSON run report with --json), or write a "
             "single self-contained HTML file with the summary, leaderboard, search history, feature "
             "importances and a confusion matrix (classification) or predicted-vs-actual plot "
             "(regression) on out-of-fold predictions. The HTML report needs matplotlib "
             "(pip install matplotlib).",
             "examples:\n  automl report model.automl\n  automl report model.automl --html report.html")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'automl fit'")
    p.add_argument("--html", metavar="PATH", help="write the HTML report here")
    p.add_argument("--json", action="store_true", help="print the JSON run report instead of the summary")
    p.add_argument("--top", type=positive_int, default=10, metavar="N", help="leaderboard rows and features shown (default 10)")
    _trust_option(p)

    p = _sub(sub, "info", "what a saved model is: task, target, columns, best model, versions",
             "Describe a model file: the task, the target and its classes, the columns it expects, "
             "the best model and its parameters, and the library versions it was made with.")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'automl fit'")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _trust_option(p)

    p = _sub(sub, "plugins", "list the installed plugins: models, metrics, observers, errors",
             "List every registered plugin (distribution and version), the hooks it implements, "
             "why it was left out if it was (import error, unknown hook, invalid spec), its models "
             "with their tasks, fidelity (the resource successive halving scales) and flags: gpu, "
             "handles_categorical (native categoricals), handles_missing, needs_scaling, target_encoding "
             "(out-of-fold target encodings of the categorical columns and their pairs added); and its "
             "metrics. See docs/plugins.md to write one.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--check", action="store_true",
                   help="also fit every model's default configurations on tiny data, for each of its tasks, "
                        "and show what fails (exit status 1 when a model or a plugin fails)")
    return parser


