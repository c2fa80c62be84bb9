"""What a large table's search no longer pays for: preparing all of a fold's rows for a rung
of a few, predicting the whole holdout at a lower rung, a rung it would be ranked out of,
a promotion that takes most of the time left, and draws of models it gave up on."""

import dataclasses

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution

import automl.search.fidelity as fidelity
from automl.data.profile import profile_frame
from automl.data.task import Task
from automl.metrics import resolve_metric
from automl.registry import discover
from automl.search import isolation
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.defaults import enqueue_defaults
from automl.search.objective import MAX_FAILURES, Objective
from automl.search.prepared import PreparedFolds
from automl.search.sampler import ModelChoiceSampler
from automl.search.search_data import SearchData
from automl.search.study import make_pruner, make_study, run_search
from automl.trial import MODEL_PARAM

ROW_RUNGS = [1 / 9, 1 / 3, 1.0]


def _data(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
    X["s"] = rng.choice([f"level{i}" for i in range(12)], size=rows)
    y = (X["a"] + 0.5 * X["b"] * X["c"] + rng.normal(scale=0.7, size=rows) > 0).astype(int).to_numpy()
    return X, y


def _search_data(X, y):
    return SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, 1, 0),
                      resolve_metric(None, Task.BINARY), 2)


def _search(specs, data, budget, n_trials):
    study = make_study(None, None, 0, make_pruner(3, 3))
    enqueue_defaults(study, list(specs.values()), stopping_first=True, profile=data.profile)
    objective = Objective(data, specs, budget, 0, 1, rungs=3, eta=3, row_rungs=ROW_RUNGS)
    run_search(study, objective, budget, n_trials)
    return study, objective


@pytest.fixture
def large(monkeypatch):
    """3000 rows take the large path, and the lower rungs score 200 of the 600 holdout rows."""
    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    monkeypatch.setattr(fidelity, "MIN_RUNG_ROWS", 100)
    monkeypatch.setattr(fidelity, "SCORE_ROWS", 200)


def test_a_fold_that_would_not_be_kept_is_prepared_for_the_rung_rows_only(large):
    X, y = _data()
    data = _search_data(X, y)
    spec = discover().specs["logistic_regression"]  # one-hot and scaling: fitted statistics to compare
    positions = np.arange(0, len(data.splits[0][0]), 7)
    folds = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits, max_bytes=0)
    fold = folds.get(spec, 0, positions)
    assert np.array_equal(fold.positions, positions) and len(fold.train) == len(positions)
    assert fold.rows(positions) is fold.train and len(fold.valid) == len(data.splits[0][1])
    with pytest.raises(ValueError, match="other rows"):
        fold.rows(positions[:10])
    rows = data.splits[0][0][positions]
    alone = folds.get(spec, 0).prep.fit(X.iloc[rows], y[rows])  # the preprocessing fitted on those rows
    np.testing.assert_allclose(fold.prep.transform(X.iloc[:50]).to_numpy(), alone.transform(X.iloc[:50]).to_numpy())
    assert folds.seconds(spec) > 0

    kept = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits)  # room: the whole fold, kept
    whole = kept.get(spec, 0, positions)
    assert whole.positions is None and len(whole.train) == len(data.splits[0][0]) and kept.get(spec, 0) is whole


def test_lower_row_rungs_score_a_sample_of_the_holdout_and_the_top_rung_all_of_it(large, monkeypatch):
    predicted = []
    real = isolation.predict_scores
    monkeypatch.setattr(isolation, "predict_scores", lambda m, X, k: predicted.append(len(X)) or real(m, X, k))
    X, y = _data()
    data = _search_data(X, y)
    n_valid = len(data.splits[0][1])
    assert fidelity.scoring_rows(n_valid, 0) is not None and fidelity.scoring_rows(400, 0) is None
    study, objective = _search({"lightgbm": discover().specs["lightgbm"]}, data, Budget(None), 1)
    assert predicted == [200, 200, n_valid], "rungs 0 and 1 on the sample, the top rung on every row"
    oof = objective.results.get(study.trials[0])
    assert not np.isnan(oof[data.val_rows]).any() and study.trials[0].value == pytest.approx(data.score(oof))


def test_a_kept_lower_rung_is_scored_again_on_the_whole_holdout(large, monkeypatch):
    """A climb the budget cut keeps its last rung (fold_final): the rows its rung left
    unscored are predicted by its models, and its score is on all of them."""
    top = Budget.estimate
    monkeypatch.setattr(Budget, "estimate", lambda self, key, rows: 1e6 if key.endswith("@2") else top(self, key, rows))
    X, y = _data()
    data = _search_data(X, y)
    study, objective = _search({"lightgbm": discover().specs["lightgbm"]}, data, Budget(600), 1)
    trial = study.trials[0]
    assert trial.user_attrs["status"] == "ok" and trial.user_attrs["rung"] == 1
    assert "kept its last rung" in trial.user_attrs["note"]
    oof = objective.results.get(trial)
    assert not np.isnan(oof[data.val_rows]).any(), "every holdout row predicted"
    assert trial.value == pytest.approx(data.score(oof))


def test_a_promotion_taking_most_of_the_time_left_is_not_trained(large, monkeypatch):
    from automl.search import climb as module

    top = Budget.estimate
    share = module.PROMOTION_SHARE
    # rung 2 would fit in the time left, but take 80% of it
    monkeypatch.setattr(Budget, "estimate", lambda self, key, rows: (
        0.8 * self.search_remaining() if key.endswith("@2") else top(self, key, rows)))
    X, y = _data()
    study, _ = _search({"lightgbm": discover().specs["lightgbm"]}, _search_data(X, y), Budget(600), 1)
    trial = study.trials[0]
    assert trial.user_attrs["rung"] == 1
    assert f"more than {share:.0%} of the search time left" in trial.user_attrs["note"]


def test_a_trial_does_not_train_a_rung_it_would_be_ranked_out_of():
    leaders = fidelity.RungLeaders(eta=3)
    assert leaders.outranked(0, 0.84) == "", "the first to climb"
    leaders.behind(1, 0.85)  # it scored 0.85 at rung 1
    assert "would rank 2" in leaders.outranked(0, 0.83), "beaten at rung 0 by the only trial at rung 1"
    assert leaders.outranked(0, 0.845) == "", "ahead of it: climbs"
    for score in (0.86, 0.87):
        leaders.behind(1, score)  # 3 at rung 1, 4 with the next: still the best 1 goes on
    assert "would rank 2" in leaders.outranked(0, 0.842)
    for score in (0.8, 0.81, 0.82):
        leaders.behind(1, score)  # 6 at rung 1: the best 2 of 7 go on
    assert leaders.outranked(0, 0.842) == "", "second of the rung-0 scores that climbed"
    assert leaders.outranked(0, float("nan")) == ""


def test_on_row_rungs_a_trial_outranked_at_the_next_rung_stops_before_it(large):
    seen = []
    spec = discover().specs["lightgbm"]
    real = spec.early_stop
    tracked = dataclasses.replace(spec, early_stop=lambda m, X, *a: seen.append(len(X)) or real(m, X, *a))
    X, y = _data()
    data = _search_data(X, y)
    budget = Budget(None)
    objective = Objective(data, {"lightgbm": tracked}, budget, 0, 1, rungs=3, eta=3, row_rungs=ROW_RUNGS)
    objective._rung_best.climbed[0] = [1.0]  # a trial that scored 1.0 at rung 0 went on ...
    objective._rung_best.behind(1, 1.0)  # ... and scored there
    study = make_study(None, None, 0, make_pruner(3, 3))
    run_search(study, objective, budget, 1)
    trial = study.trials[0]
    assert trial.user_attrs["status"] == "pruned" and trial.user_attrs["rung"] == 0
    assert len(seen) == 1, "rung 1 not trained"


def test_the_sampler_does_not_draw_an_excluded_model():
    sampler = ModelChoiceSampler(seed=0, n_startup_trials=10)
    sampler.excluded = {"b"}
    study = optuna.create_study(direction="maximize", sampler=sampler)
    models = CategoricalDistribution(["a", "b", "c"])
    drawn = [study.ask({MODEL_PARAM: models}).params[MODEL_PARAM] for _ in range(30)]
    assert set(drawn) == {"a", "c"}
    sampler.excluded = {"a", "b", "c"}  # nothing left: the draw stands
    assert study.ask({MODEL_PARAM: models}).params[MODEL_PARAM] in {"a", "b", "c"}


def test_a_model_given_up_on_is_not_drawn_again():
    """A model that failed ``MAX_FAILURES`` times in a row was drawn again, each draw a
    skipped trial; now the sampler leaves it out."""

    class Broken:
        def fit(self, X, y):
            raise RuntimeError("always")

        def get_params(self, deep=True):
            return {}

    tree = discover().specs["decision_tree"]
    specs = {"decision_tree": tree,
             "broken": dataclasses.replace(tree, name="broken", build=lambda params, ctx: Broken())}
    X, y = _data(600)
    data = SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, 3, 0),
                      resolve_metric(None, Task.BINARY), 2)
    study = make_study(None, None, 0, make_pruner(1, 3))
    run_search(study, Objective(data, specs, Budget(None), 0, 1, rungs=1, eta=3), Budget(None), 30)
    broken = [t for t in study.trials if t.params[MODEL_PARAM] == "broken"]
    assert len(broken) == MAX_FAILURES and all(t.user_attrs["status"] == "failed" for t in broken)


def test_with_many_classes_the_boosters_do_not_lead_a_large_tables_queue():
    """A booster trains one tree per class each round (``cost_per_class``): on a large table of
    26 classes its defaults would take the budget (LightGBM's first took 41 of letter's 60 s),
    and are queued by that cost, after the forests' first defaults; on two classes its whole
    portfolio leads, and on a small table the queue is by ``cost`` alone."""
    specs = [discover().specs[n] for n in ("lightgbm", "xgboost", "random_forest", "extra_trees")]
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=list("abc"))

    def queue(n_classes, large):
        study = make_study(None, None, 0, make_pruner(3, 3))
        enqueue_defaults(study, specs, stopping_first=large, profile=profile_frame(X, n_classes))
        queued = study.get_trials(deepcopy=False)  # waiting trials: their model is a fixed parameter
        return [(t.system_attrs["fixed_params"][MODEL_PARAM], t.user_attrs["default_config"]) for t in queued]

    two, many, small = queue(2, True), queue(26, True), queue(26, False)
    n_boosted = sum(len(s.defaults(profile_frame(X, 2))) for s in specs[:2])
    assert {m for m, _ in two[:n_boosted]} == {"lightgbm", "xgboost"}, "two classes: the boosters' portfolios lead"
    assert many[:4] == [("extra_trees", 0), ("random_forest", 0), ("lightgbm", 0), ("xgboost", 0)]
    assert [m for m, i in small if i == 0] == ["lightgbm", "extra_trees", "xgboost", "random_forest"]
    assert sorted(two) == sorted(many) == sorted(small), "the same configurations, in another order"


def test_with_many_classes_a_model_that_leads_many_classes_leads_a_large_tables_queue():
    """Where no booster is cheap enough to lead (many classes), the cheapest model flagged
    ``leads_many_classes`` (the MLP) tries its portfolio first, so that its refit still fits
    the budget (letter: log loss 0.074 from its holdout model, 0.058 refit on all rows); on two
    classes (with or without a booster) and on small tables, the flag changes nothing."""
    base = discover().specs
    forest = base["random_forest"]
    net = dataclasses.replace(forest, name="net", cost=3.0, leads_many_classes=True)
    costly = dataclasses.replace(forest, name="costly_net", cost=5.0, leads_many_classes=True)
    specs = [base["lightgbm"], base["extra_trees"], forest, net, costly]
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=list("abc"))

    def queue(n_classes, large):
        study = make_study(None, None, 0, make_pruner(3, 3))
        enqueue_defaults(study, specs, stopping_first=large, profile=profile_frame(X, n_classes))
        return [(t.system_attrs["fixed_params"][MODEL_PARAM], t.user_attrs["default_config"])
                for t in study.get_trials(deepcopy=False)]

    many, two, small = queue(26, True), queue(2, True), queue(26, False)
    specs.remove(base["lightgbm"])
    unboosted = queue(2, True)
    n_net = len(net.defaults(profile_frame(X, 26)))
    assert many[:n_net] == [("net", i) for i in range(n_net)], "the cheapest flagged model's portfolio leads"
    assert many[n_net] == ("extra_trees", 0), "then the others, cheapest first (the costlier flagged one among them)"
    assert two[0] == ("lightgbm", 0) and small[0] == ("lightgbm", 0), "the boosters lead, or plain cost order"
    assert unboosted[0] == ("extra_trees", 0), "two classes without a booster: plain cost order"
    assert sorted(two) == sorted(many) == sorted(small), "the same configurations, in another order"
