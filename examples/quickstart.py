"""Fit AutoML on a bundled real dataset (Titanic) and score it on a held-out quarter.

    python examples/quickstart.py [--time SECONDS] [--dataset NAME]
"""

import argparse

from sklearn.model_selection import train_test_split

from automl import AutoML
from automl import datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time", type=float, default=30, help="time budget in seconds (default 30)")
    parser.add_argument("--dataset", default="titanic", choices=datasets.names(), help="bundled dataset")
    args = parser.parse_args()

    data = datasets.load(args.dataset)
    stratify = data.frame[data.target] if data.task != "regression" else None
    train, test = train_test_split(data.frame, test_size=0.25, random_state=0, stratify=stratify)

    aml = AutoML(time_budget=args.time, seed=0).fit(train, data.target)
    print(f"dataset: {data.name} ({len(train)} training rows), task: {aml.task_} ({aml.task_reason_})")
    print(aml.leaderboard().drop(columns=["params", "error"]).head(10).to_string(index=False))
    print(f"best single model: {aml.best_model_name_}; CV {aml.metric_} = {aml.best_score_:.4f}")
    print(f"final model: {aml.ensemble_.method} of {len(aml.ensemble_.members)} member(s)")
    print(f"holdout {aml.metric_} = {aml.score(test):.4f}")
    print(f"timings (s): {aml.timings_}")


if __name__ == "__main__":
    main()
