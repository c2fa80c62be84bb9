"""Boosted and forest trees flattened into arrays and walked all at once with numpy.

scikit-learn predicts a HistGradientBoosting model one tree at a time (a Cython call of
~30 us each, even for one row): 500 rounds cost ~15 ms a row. Here the nodes of every
tree are concatenated and all trees are walked together, one depth level per step
(``(rows, trees)`` index arrays), with the same decisions as scikit-learn's
``_predict_one_from_raw_data``: NaN goes where the node sends missing values; a
categorical value goes left when its bit is set in the node's left bitset, right when
it is a known category, else where missing values go; a number goes left when it is at
most the threshold. The leaves' values are summed per class onto the baseline.
"""

from __future__ import annotations

import numpy as np


def _in_bitset(bitsets: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether ``values`` (ints < 256) are set in ``bitsets[rows]`` (uint32 x 8 each)."""
    words = bitsets[rows, values >> 5]
    return ((words >> (values & 31).astype(np.uint32)) & 1).astype(bool)


class FlatTrees:
    """The trees of a fitted HistGradientBoosting model (``_predictors``) as flat arrays."""

    def __init__(self, model):
        predictors = model._predictors
        self.n_iter, self.k = len(predictors), model.n_trees_per_iteration_
        known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
        self.known = np.asarray(known, dtype=np.uint32)
        self.f_idx_map = np.asarray(f_idx_map, dtype=np.intp)
        bitsets, roots = [], []
        offset = bit_offset = 0
        fields = {}
        for per_iteration in predictors:
            for predictor in per_iteration:
                n = predictor.nodes
                roots.append(offset)
                fields.setdefault("feature", []).append(n["feature_idx"].astype(np.intp))
                fields.setdefault("threshold", []).append(n["num_threshold"].astype(np.float64))
                fields.setdefault("missing_left", []).append(n["missing_go_to_left"].astype(bool))
                fields.setdefault("left", []).append(n["left"].astype(np.intp) + offset)
                fields.setdefault("right", []).append(n["right"].astype(np.intp) + offset)
                fields.setdefault("leaf", []).append(n["is_leaf"].astype(bool))
                fields.setdefault("value", []).append(n["value"].astype(np.float64))
                fields.setdefault("categorical", []).append(n["is_categorical"].astype(bool))
                fields.setdefault("bitset", []).append(n["bitset_idx"].astype(np.intp) + bit_offset)
                raw = np.asarray(predictor.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
                bitsets.append(raw)
                offset += len(n)
                bit_offset += len(raw)
        for name, parts in fields.items():
            setattr(self, name, np.concatenate(parts))
        self.left_bitsets = np.concatenate(bitsets) if bitsets else np.zeros((0, 8), np.uint32)
        if not len(self.left_bitsets):
            self.left_bitsets = np.zeros((1, 8), np.uint32)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.has_categorical = bool(self.categorical.any())
        self.baseline = np.asarray(model._baseline_prediction, dtype=np.float64).reshape(1, -1)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The raw predictions (rows, trees per iteration): baseline plus the leaves' values."""
        n = X.shape[0]
        idx = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        active = ~self.leaf[idx]
        while active.any():
            feature = self.feature[idx]
            x = X[rows, feature]
            missing_left = self.missing_left[idx]
            with np.errstate(invalid="ignore"):
                go_left = x <= self.threshold[idx]
            nan = np.isnan(x)
            if self.has_categorical:
                cat = self.categorical[idx] & ~nan & active
                if cat.any():
                    xc = x[cat]
                    code = np.clip(np.where(xc < 0, 0, xc), 0, 255).astype(np.intp)
                    where = idx[cat]
                    in_left = _in_bitset(self.left_bitsets, self.bitset[where], code)
                    known = _in_bitset(self.known, self.f_idx_map[feature[cat]], code)
                    decided = np.where(in_left, True, np.where(known, False, missing_left[cat]))
                    go_left[cat] = np.where(xc < 0, missing_left[cat], decided)
            go_left = np.where(nan, missing_left, go_left)
            nxt = np.where(go_left, self.left[idx], self.right[idx])
            idx = np.where(active, nxt, idx)
            active = ~self.leaf[idx]
        values = self.value[idx].reshape(n, self.n_iter, self.k)
        return self.baseline + values.sum(axis=1)


def _leaves(X: np.ndarray, trees, missing_left: np.ndarray, goes_left) -> np.ndarray:
    """The leaf of each row in every tree of ``trees`` (flat arrays whose leaves point to
    themselves), all trees walked together one level a step: NaN goes where
    ``missing_left`` says, a number left when ``goes_left(value, threshold)``."""
    n = X.shape[0]
    idx = np.broadcast_to(trees.roots, (n, len(trees.roots))).copy()
    rows = np.arange(n)[:, None]
    active = ~trees.leaf[idx]
    while active.any():
        x = X[rows, trees.feature[idx]]
        with np.errstate(invalid="ignore"):
            go_left = np.where(np.isnan(x), missing_left[idx], goes_left(x, trees.threshold[idx]))
        idx = np.where(go_left, trees.left[idx], trees.right[idx])
        active = ~trees.leaf[idx]
    return idx


class FlatForest:
    """The trees of a fitted scikit-learn forest as flat arrays (``tree_`` of each
    estimator), walked together as ``_apply_dense`` walks one: NaN goes where the node
    sends missing values, else left when the (float32) value is at most the threshold.
    ``mean(X)``: the trees' leaf values (class fractions, or values) averaged. It copies
    the trees (22 bytes a node and 8 a value): a forest whose copy would take more than
    ``MAX_BYTES`` is refused (ValueError) and predicted tree by tree (a fully grown
    forest of 300 trees on a few thousand rows and 7 classes already holds 100 MB)."""

    MAX_BYTES = 48 * 2**20

    def __init__(self, model, width: int):
        if sum(e.tree_.node_count for e in model.estimators_) * (22 + 8 * width) > self.MAX_BYTES:
            raise ValueError("forest too large to copy")
        fields: dict[str, list] = {}
        roots, offset = [], 0
        for estimator in model.estimators_:
            tree = estimator.tree_
            roots.append(offset)
            left = tree.children_left.astype(np.int32)
            leaf = left < 0
            here = np.arange(len(left), dtype=np.int32)
            fields.setdefault("feature", []).append(np.where(leaf, 0, tree.feature).astype(np.int32))
            fields.setdefault("threshold", []).append(tree.threshold.astype(np.float64))
            missing = getattr(tree, "missing_go_to_left", None)
            fields.setdefault("missing_left", []).append(
                np.zeros(len(left), bool) if missing is None else np.asarray(missing).astype(bool))
            fields.setdefault("left", []).append(np.where(leaf, here, left) + np.int32(offset))
            fields.setdefault("right", []).append(np.where(leaf, here, tree.children_right.astype(np.int32))
                                                  + np.int32(offset))
            fields.setdefault("leaf", []).append(leaf)
            fields.setdefault("value", []).append(np.asarray(tree.value[:, 0, :width], dtype=np.float64))
            offset += len(left)
        for name, parts in fields.items():
            setattr(self, name, np.concatenate(parts))
        self.roots = np.asarray(roots, dtype=np.intp)

    def mean(self, X: np.ndarray) -> np.ndarray:
        idx = _leaves(np.ascontiguousarray(X, dtype=np.float32), self, self.missing_left, np.less_equal)
        return self.value[idx].sum(axis=1) / len(self.roots)


class FlatXGBoost:
    """The trees of an XGBoost booster (``gbtree``, numeric splits, NaN as missing) as flat
    arrays, walked together as XGBoost walks one: NaN goes where the node's default sends
    it, else left when the float32 value is below the threshold. XGBoost costs ~3.5 us a
    tree on one row (4 ms for 1,169 trees of depth 8), a level of all trees here ~10 us.

    ``value_of(X)`` is the booster's ``inplace_predict(predict_type="value")``. The base margin
    is not parsed from the model (its format changes between versions): it is the booster's
    margin minus the leaves' sum on probe rows (values at and around the thresholds, and
    NaN); the predictions are then checked against the booster's on those rows, and
    anything that differs (another objective, a categorical split) raises ValueError."""

    _LINKS = {"binary:logistic": "logistic", "multi:softprob": "softmax", "multi:softmax": "softmax",
              "reg:squarederror": "identity", "reg:absoluteerror": "identity", "reg:pseudohubererror": "identity"}

    def __init__(self, booster, iteration_range: tuple[int, int], seed: int = 0):
        import json

        learner = json.loads(booster.save_raw("json"))["learner"]
        self.link = self._LINKS.get(learner["objective"]["name"])
        model = learner["gradient_booster"]["model"] if learner["gradient_booster"]["name"] == "gbtree" else None
        if self.link is None or model is None:
            raise ValueError("not a gbtree model with a known objective")
        begin, end = iteration_range
        indptr = model["iteration_indptr"]
        end = len(indptr) - 1 if end == 0 else end
        trees = model["trees"][indptr[begin]:indptr[end]]
        groups = np.asarray(model["tree_info"][indptr[begin]:indptr[end]], dtype=np.intp)
        if any(any(t["split_type"]) for t in trees):
            raise ValueError("categorical splits")
        roots, offset, fields = [], 0, {}
        for tree in trees:
            left = np.asarray(tree["left_children"], dtype=np.int64)
            leaf = left < 0
            here = np.arange(len(left))
            roots.append(offset)
            fields.setdefault("feature", []).append(np.where(leaf, 0, tree["split_indices"]))
            fields.setdefault("threshold", []).append(np.asarray(tree["split_conditions"], dtype=np.float32))
            fields.setdefault("default_left", []).append(np.asarray(tree["default_left"], dtype=bool))
            fields.setdefault("left", []).append(np.where(leaf, here, left) + offset)
            fields.setdefault("right", []).append(np.where(leaf, here, tree["right_children"]) + offset)
            fields.setdefault("leaf", []).append(leaf)
            offset += len(left)
        if not trees:
            raise ValueError("no trees")
        for name, parts in fields.items():
            setattr(self, name, np.concatenate(parts).astype(bool if name in ("default_left", "leaf") else
                                                             np.float32 if name == "threshold" else np.intp))
        self.value = np.where(self.leaf, self.threshold, 0).astype(np.float64)  # a leaf's value is its condition
        self.roots = np.asarray(roots, dtype=np.intp)
        n_groups = int(groups.max()) + 1
        self.groups = np.zeros((len(trees), n_groups))
        self.groups[np.arange(len(trees)), groups] = 1.0
        self.base = np.zeros(n_groups)
        probe = self._probe(int(learner["learner_model_param"]["num_feature"]), seed)
        margin = np.asarray(booster.inplace_predict(probe, iteration_range=iteration_range, predict_type="margin",
                                                    validate_features=False), dtype=np.float64)
        self.base = (margin.reshape(len(probe), n_groups) - self.margin(probe)).mean(axis=0)
        expected = booster.inplace_predict(probe, iteration_range=iteration_range, predict_type="value",
                                           validate_features=False)
        if not np.allclose(self.value_of(probe), expected, rtol=1e-4, atol=1e-5):
            raise ValueError("the flattened trees disagree with XGBoost")

    def _probe(self, n_features: int, seed: int) -> np.ndarray:
        """Rows of thresholds, values just either side of them, and NaN, per feature."""
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(64, n_features)).astype(np.float32)
        split = ~self.leaf
        for f in range(n_features):
            cuts = self.threshold[split & (self.feature == f)]
            if len(cuts):
                X[:, f] = rng.choice(cuts, 64) * rng.choice(np.float32([0.999, 1.0, 1.001]), 64)
        X[rng.random(X.shape) < 0.1] = np.nan
        return X

    def margin(self, X: np.ndarray) -> np.ndarray:
        """The raw score per output group (rows, groups): the base plus the leaves' sum."""
        idx = _leaves(np.ascontiguousarray(X, dtype=np.float32), self, self.default_left, np.less)
        return self.base + self.value[idx] @ self.groups

    def value_of(self, X: np.ndarray) -> np.ndarray:
        """What ``inplace_predict(predict_type="value")`` returns: 1-d for one group."""
        z = self.margin(X)
        if self.link == "softmax":
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        z = z[:, 0] if z.shape[1] == 1 else z
        return 1.0 / (1.0 + np.exp(-z)) if self.link == "logistic" else z
