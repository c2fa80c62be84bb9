"""Check that a change keeps the search's behaviour: fit with fixed settings and no time
budget (nothing the clock decides) on three bundled datasets, and print each leaderboard
(without fit times), the final model's method and members, and the best trial, as JSON.

    PYTHONPATH=/path/to/old/checkout python -m benchmarks.same_leaderboards > before.json
    python -m benchmarks.same_leaderboards > after.json
    python -m benchmarks.same_leaderboards --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

DATASETS = ("blood_transfusion", "vehicle", "bike_sharing")


def run(n_trials: int) -> dict:
    import automl
    from automl import AutoML, datasets

    out: dict = {"automl_file": automl.__file__}
    for name in DATASETS:
        d = datasets.load(name)
        aml = AutoML(time_budget=None, n_trials=n_trials, seed=0, verbose=0, infer_limit=None, n_jobs=1)
        aml.fit(d.frame, d.target)
        board = aml.leaderboard().drop(columns=["fit_time", "worker"], errors="ignore")
        out[name] = {"board": json.loads(board.to_json(orient="records")), "ensemble": aml.ensemble_.method,
                     "members": [(m["trial"], round(m["weight"], 6)) for m in aml.ensemble_.members],
                     "best": [aml.best_trial_, aml.best_model_name_, aml.best_score_]}
    return out


def compare(before: dict, after: dict) -> bool:
    same = True
    for name in DATASETS:
        b, a = before[name], after[name]
        ok = b == a
        same &= ok
        print(f"{name}: {'same' if ok else 'DIFFERENT'} leaderboard ({len(a['board'])} trials), final model "
              f"{a['ensemble']} {a['members']}, best {a['best']}")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.load(open(p)) for p in args.compare)
        return 0 if compare(before, after) else 1
    warnings.filterwarnings("ignore")
    print(json.dumps(run(args.trials)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
