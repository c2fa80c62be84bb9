"""A fitted model called on a plain array, with its library's fast path for a few rows.

:func:`model_caller` returns ``call(X) -> output`` where ``X`` is the compiled
preprocessing's float64 matrix (native categorical columns hold category codes) and the
output is what the model's ``predict_proba`` (classification) or ``predict``
(regression) returns on the batch path's DataFrame, to float tolerance:

* LightGBM: the booster on the array with one thread (categories as codes, in the
  booster's own category order);
* XGBoost: up to ``FLAT_TREE_ROWS`` rows, all trees walked together (``fast_trees``;
  numeric splits); above, ``inplace_predict`` on the array (categories as codes), a copy of
  the booster on one thread;
* HistGradientBoosting: its trees flattened and walked together (``fast_trees``),
  categories remapped to its own ordinal codes (what its internal encoder does);
* random forest / extra trees: up to ``FLAT_TREE_ROWS`` rows, all trees walked together
  (``fast_trees``); above, each tree on the float32 array, summed in order (the forest's
  joblib loop costs ~0.3 ms a tree on one row);
* any other scikit-learn (or built-in plugin) model: its ``predict_proba`` / ``predict`` on
  the array; another library's model on a float frame with the batch path's column names.

A model with native categorical columns that is none of the boosters above is refused
(:class:`~automl.preprocessing.compiled.NotCompilable`): the batch path is used.
"""

from __future__ import annotations

import weakref
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor

from automl.final.fast_trees import FlatForest, FlatTrees, FlatXGBoost
from automl.preprocessing.compiled import CompiledPrep, NotCompilable


#: Up to this many rows HistGradientBoosting's trees are walked all at once (``fast_trees``);
#: above, tree by tree (measured on adult: 1 row 1.4 ms vs 18 ms; 64 rows 62 ms vs 18 ms).
FLAT_TREE_ROWS = 4
#: XGBoost models of up to this many trees are flattened: reading the trees out of the model
#: (its JSON) takes ~0.5 s for 1,200 trees of depth 8, which then predict a row in 0.7 ms
#: instead of 1.5-4 ms.
MAX_FLAT_XGBOOST_TREES = 3000
_FLAT_XGBOOST: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _module(model) -> str:
    return type(model).__module__.split(".")[0]


def _remap(prep: CompiledPrep, levels_of: Callable[[int, int], list | None]) -> list[tuple[int, np.ndarray]]:
    """For each native categorical column (by position), an array mapping the prep's code
    to the model's code (NaN: a level the model did not see)."""
    out = []
    for k, pos in enumerate(np.flatnonzero(prep.categorical)):
        mine = prep.categories[int(pos)]
        theirs = levels_of(k, int(pos))
        if theirs is None:
            raise NotCompilable("the model's categories are unknown")
        index = {str(v): float(i) for i, v in enumerate(theirs)}
        table = np.array([index.get(str(v), np.nan) for v in mine] + [np.nan])
        if not np.array_equal(table[:-1], np.arange(len(mine))):  # the same levels in the same order: no remap
            out.append((int(pos), table))
    return out


def _apply_remap(X: np.ndarray, remap) -> np.ndarray:
    if not remap:
        return X
    X = X.copy()
    for pos, table in remap:
        codes = X[:, pos]
        idx = np.where(np.isnan(codes), len(table) - 1, codes).astype(int)
        X[:, pos] = table[idx]
    return X


def _binary(p: np.ndarray) -> np.ndarray:
    return np.vstack((1.0 - p, p)).transpose()


def _lightgbm(model, prep: CompiledPrep, classify: bool):
    booster = model.booster_
    cats = booster.pandas_categorical or []
    remap = _remap(prep, lambda k, pos: cats[k] if k < len(cats) else None) if prep.categorical.any() else []
    n_iter = getattr(model, "_best_iteration", None)
    binary = classify and getattr(model, "n_classes_", 2) <= 2

    def call(X):
        out = booster.predict(_apply_remap(X, remap), num_iteration=n_iter, num_threads=1, validate_features=False)
        return _binary(out) if binary else out
    return call


def _flat_xgboost(model, booster, iteration_range) -> FlatXGBoost | None:
    """The model's trees flattened (once per model: the leaderboard's timing and the final
    model share them), or None: too many trees to read (``MAX_FLAT_XGBOOST_TREES``), NaN not
    the missing value, or a model ``FlatXGBoost`` cannot follow."""
    if model in _FLAT_XGBOOST:
        return _FLAT_XGBOOST[model]
    groups = int(getattr(model, "n_classes_", 0) or 0)
    trees = booster.num_boosted_rounds() * (groups if groups > 2 else 1) * int(model.num_parallel_tree or 1)
    flat = None
    if trees <= MAX_FLAT_XGBOOST_TREES and model.missing is not None and np.isnan(model.missing):
        try:
            flat = FlatXGBoost(booster, iteration_range)
        except ValueError:
            pass
    _FLAT_XGBOOST[model] = flat
    return flat


def _xgboost(model, prep: CompiledPrep, classify: bool):
    # A copy on one thread: the model's own booster predicts on all cores (nthread 0 after a
    # load), whose thread pool costs 20-70 ms a row on a busy machine (0.3 ms on one thread).
    booster = model.get_booster().copy()
    booster.set_param({"nthread": 1})
    if prep.categorical.any():
        types = booster.feature_types or []
        if [t == "c" for t in types] != list(prep.categorical):
            raise NotCompilable("XGBoost's categorical columns differ")
    iteration_range = model._get_iteration_range(None)
    binary = classify and getattr(model, "n_classes_", 2) <= 2
    flat = _flat_xgboost(model, booster, iteration_range)
    few = FLAT_TREE_ROWS if flat is not None else 0

    def call(X):
        if X.shape[0] <= few:
            out = flat.value_of(X)
        else:
            out = booster.inplace_predict(X, iteration_range=iteration_range, predict_type="value",
                                          missing=model.missing, validate_features=False)
        if not classify:
            return out
        return _binary(out) if binary and out.ndim == 1 else out
    return call


def _hist_gradient_boosting(model, prep: CompiledPrep, classify: bool):
    enc = model._preprocessor
    if enc is None:
        if prep.categorical.any():
            raise NotCompilable("HistGradientBoosting without categorical features got codes")
        order, remap = None, []
    else:
        cat_idx = np.flatnonzero(model.is_categorical_)
        if not np.array_equal(cat_idx, np.flatnonzero(prep.categorical)):
            raise NotCompilable("HistGradientBoosting's categorical columns differ")
        levels = enc.named_transformers_["encoder"].categories_
        remap = _remap(prep, lambda k, pos: list(levels[k]))
        out_cat = enc.output_indices_["encoder"]
        out_num = enc.output_indices_["numerical"]
        num_idx = np.flatnonzero(~np.asarray(model.is_categorical_))
        order = np.empty(len(prep.names), dtype=int)
        order[out_cat] = cat_idx
        order[out_num] = num_idx
    trees = FlatTrees(model)
    bitsets = model._bin_mapper.make_known_categories_bitsets()

    def raw(X):
        X = _apply_remap(X, remap)
        if order is not None:
            X = X[:, order]
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.shape[0] <= FLAT_TREE_ROWS:
            return trees.raw(X)
        out = np.zeros((X.shape[0], model.n_trees_per_iteration_), dtype=np.float64, order="F")
        out += model._baseline_prediction
        for predictors in model._predictors:  # scikit-learn's loop, one thread
            for k, predictor in enumerate(predictors):
                out[:, k] += predictor.predict(X, known_cat_bitsets=bitsets[0], f_idx_map=bitsets[1], n_threads=1)
        return out

    if classify:
        return lambda X: model._loss.predict_proba(raw(X))
    return lambda X: model._loss.link.inverse(raw(X).ravel())


def _forest(model, classify: bool):
    trees = [e.tree_ for e in model.estimators_]
    n = len(trees)
    try:
        flat = FlatForest(model, int(model.n_classes_) if classify else 1)
    except ValueError:  # too large to copy: tree by tree at any size
        flat = None
    few = FLAT_TREE_ROWS if flat is not None else 0
    if classify:
        k = int(model.n_classes_)

        def call(X):
            if X.shape[0] <= few:
                return flat.mean(X)
            X = np.ascontiguousarray(X, dtype=np.float32)
            total = np.zeros((X.shape[0], k), dtype=np.float64)
            for tree in trees:
                total += tree.predict(X)[:, :k]
            total /= n
            return total
    else:
        def call(X):
            if X.shape[0] <= few:
                return flat.mean(X)[:, 0]
            X = np.ascontiguousarray(X, dtype=np.float32)
            total = np.zeros(X.shape[0], dtype=np.float64)
            for tree in trees:
                total += tree.predict(X)[:, 0]
            total /= n
            return total
    return call


_FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)


def model_caller(model, prep: CompiledPrep, classify: bool) -> Callable[[np.ndarray], np.ndarray]:
    """``call(X)``: the model's predict_proba (classification) or predict output on the
    compiled matrix ``X`` (see the module docstring); raises ``NotCompilable``."""
    module = _module(model)
    if module == "lightgbm":
        return _lightgbm(model, prep, classify)
    if module == "xgboost":
        return _xgboost(model, prep, classify)
    if hasattr(model, "_predictors") and hasattr(model, "_bin_mapper"):
        return _hist_gradient_boosting(model, prep, classify)
    if prep.categorical.any():  # e.g. CatBoost: a frame with the batch path's category columns
        method = model.predict_proba if classify else model.predict
        return lambda X: method(_native_frame(X, prep))
    if type(model) in _FORESTS and getattr(model, "n_outputs_", 1) == 1 and not isinstance(model.n_classes_ if classify else 0, list):
        return _forest(model, classify)
    method = model.predict_proba if classify else model.predict
    if module in _ARRAY_MODULES:
        return lambda X: method(X)
    names = list(prep.names)  # another library's model may read the columns by name: a frame
    return lambda X: method(pd.DataFrame(X, columns=names, copy=False))


def _native_frame(X: np.ndarray, prep: CompiledPrep) -> pd.DataFrame:
    """The compiled matrix ``X`` as the batch path's frame: its native categorical columns
    as pandas ``category`` with the fitted levels (missing and unseen: NaN)."""
    data = {}
    for j, name in enumerate(prep.names):
        if prep.categorical[j]:
            codes = np.where(np.isnan(X[:, j]), -1, X[:, j]).astype(np.int64)
            data[name] = pd.Categorical.from_codes(codes, categories=prep.categories[j])
        else:
            data[name] = X[:, j]
    return pd.DataFrame(data, copy=False)


#: Libraries whose models read an array as they read the batch path's float frame.
_ARRAY_MODULES = ("sklearn", "automl_plugins")
