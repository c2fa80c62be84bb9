"""Which fold models the search keeps (``search/kept_folds.py``)."""

import numpy as np

from automl.search import kept_folds
from automl.search.kept_folds import KeptFolds


def _folds(megabytes: float) -> list:
    return [{"model": np.zeros(int(megabytes * 2**20 / 8))}]


def test_the_best_and_each_family_best_are_kept_within_their_caps(monkeypatch):
    monkeypatch.setattr(kept_folds, "KEEP_FOLDS_BYTES", 10 * 2**20)
    monkeypatch.setattr(kept_folds, "MEMBER_FOLDS_BYTES", 6 * 2**20)
    kept = KeptFolds()
    a = _folds(2)
    assert kept.offer(0, "lightgbm", 0.80, a, best=True) is a and kept.best == (0, a) and kept.of(0) is a
    b = _folds(3)
    assert kept.offer(1, "mlp", 0.70, b, best=False) is None and kept.of(1) is b, "the mlp's best: a member"
    assert kept.offer(2, "mlp", 0.60, _folds(1), best=False) is None and kept.of(2) is None, "not its family's best"
    c = _folds(2)
    kept.offer(3, "mlp", 0.75, c, best=False)
    assert kept.of(1) is None and kept.of(3) is c, "a family keeps its best trial's only"
    assert kept.offer(4, "forest", 0.78, _folds(4), best=False) is None and kept.of(4) is None, "over the members' cap"
    big = _folds(12)
    assert kept.offer(5, "forest", 0.90, big, best=True) is None, "over the best's cap: refit when needed"
    assert kept.best is None and kept.of(0) is a, "trial 0 stays as the lightgbm family's best"
