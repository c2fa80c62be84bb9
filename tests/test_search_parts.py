import numpy as np
import pandas as pd
import pytest

from automl.exceptions import DataError, PluginError
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.fidelity import GROW_FROM, GROW_ROWS, for_budget, n_rungs, rung_resources, rung_step
from automl.data.sampling import subsample
from automl.trial import NamespacedTrial
from automl.spec import Fidelity, ModelSpec
from automl.data.task import Task


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_budget_accounting_with_a_fake_clock():
    clock = FakeClock()
    budget = Budget(60, clock=clock)
    assert budget.remaining() == 60
    assert budget.margin == pytest.approx(1.8)
    assert budget.refit_reserve() == pytest.approx(6.0), "10% is reserved for the refit before any estimate"
    clock.now += 20
    assert budget.remaining() == pytest.approx(40)
    budget.record("m@0", 2.0, rows=1000)
    budget.record("m@0", 4.0, rows=1000)
    budget.record("m@0", 3.0, rows=1000)
    assert budget.estimate("m@0", 2000) == pytest.approx(6.0)  # median per row x rows
    assert budget.estimate("other@0", 10) is None
    budget.note_best(10.0)
    assert budget.refit_reserve() == 10.0
    assert budget.search_remaining() == pytest.approx(40 - 10 - 1.8)
    assert budget.can_afford(28) and not budget.can_afford(28.3)
    budget.note_best(39.0, has_folds=True)  # 40 s left: its refit does not fit, its fold models will serve
    assert budget.refit_reserve() == 0.0 and budget.search_remaining() == pytest.approx(40 - 1.8)
    budget.note_best(39.0)  # no fold models kept: it must be refit, whatever the time left
    assert budget.refit_reserve() == 39.0
    budget.note_best(60.0, has_folds=True, cuttable=True)  # stops in time, half of it fits: the search ends
    assert budget.best_cut and not budget.best_averaged and budget.search_remaining() < 0
    budget.note_best(90.0, has_folds=True, cuttable=True)  # less than half fits: its fold models serve
    assert not budget.best_cut and budget.best_averaged and budget.refit_reserve() == 0
    assert budget.cuts(76.4) and not budget.cuts(76.5)
    budget.note_best(30.0, has_folds=True)  # its refit fits: kept, also when the search has used the rest
    clock.now += 9
    assert budget.refit_reserve() == 30.0 and budget.search_remaining() < 0
    clock.now -= 9
    clock.now += 100
    assert budget.search_remaining() < 0 and budget.remaining() == pytest.approx(-60)
    unlimited = Budget(None, clock=clock)
    assert unlimited.search_remaining() == float("inf") and unlimited.refit_reserve() == 0


def test_stratified_folds_cover_every_row_once():
    y = np.array([0] * 30 + [1] * 10 + [2] * 4)
    splits = make_splits(y, Task.MULTICLASS, "auto", seed=0)
    assert len(splits) == 4, "folds are capped by the smallest class"
    val = np.concatenate([v for _, v in splits])
    assert sorted(val) == list(range(len(y)))
    for _, v in splits:
        assert set(y[v]) == {0, 1, 2}


def test_single_row_class_is_a_clear_error():
    with pytest.raises(DataError, match="single row"):
        make_splits(np.array([0, 0, 0, 1, 1, 2]), Task.MULTICLASS, 5, seed=0)


def test_holdout_for_large_data():
    y = np.random.default_rng(0).normal(size=60_000)
    (train, val), = make_splits(y, Task.REGRESSION, "auto", seed=0)
    assert len(val) == 12_000 and len(np.intersect1d(train, val)) == 0


def test_namespaced_trial():
    import optuna

    study = optuna.create_study()
    trial = study.ask()
    ns = NamespacedTrial(trial, "ridge")
    ns.suggest_float("alpha", 0.1, 1.0)
    ns.suggest_categorical("solver", ["a", "b"])
    assert set(trial.params) == {"ridge__alpha", "ridge__solver"}
    trial.suggest_categorical("model", ["ridge"])
    assert set(ns.params) == {"alpha", "solver"}  # its own, without the prefix; not the model's name


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="Bad Name"), "lower_snake_case"),
        (dict(name="a__b"), "__"),
        (dict(tasks=frozenset()), "empty"),
        (dict(tasks=frozenset({"clustering"})), "tasks must be"),
        (dict(build="not callable"), "build must be callable"),
        (dict(default_params=({"n_estimators": 5},), fidelity=Fidelity("n_estimators", 1, 10, "n_estimators")), "fidelity parameter"),
    ],
)
def test_spec_validation_names_the_problem(kwargs, match):
    base = dict(name="ok", tasks=frozenset(Task), search_space=lambda t, p: {}, build=lambda p, c: None)
    with pytest.raises(PluginError, match=match):
        ModelSpec(**{**base, **kwargs})


def test_fidelity_validation():
    with pytest.raises(PluginError):
        Fidelity("n_estimators", 10, 5, "n_estimators")
    with pytest.raises(PluginError):
        Fidelity("sample_fraction", 0.1, 2.0)
    with pytest.raises(PluginError):
        Fidelity("epochs", 1, 10)
    assert Fidelity("sample_fraction", 0.1, 1.0).is_sample_fraction
    with pytest.raises(PluginError, match="grow_to"):
        Fidelity("n_estimators", 10, 100, "n_estimators", grow_to=100)
    with pytest.raises(PluginError, match="grow_to"):
        Fidelity("sample_fraction", 0.1, 1.0, grow_to=2.0)


def test_a_longer_budget_grows_a_fidelity_with_grow_to_and_no_other():
    base = dict(tasks=frozenset(Task), search_space=lambda t, p: {}, build=lambda p, c: None)
    trees = Fidelity("n_estimators", 16, 2000, "iterations", True, grow_to=4000)
    grows = ModelSpec(name="grows", fidelity=trees, **base)
    fixed = ModelSpec(name="fixed", fidelity=Fidelity("n_estimators", 16, 500, "n_estimators", True), **base)
    rows = GROW_ROWS
    for budget in (None, 60, GROW_FROM):
        assert for_budget(grows, budget, rows) is grows, "short budgets (and none) keep the plugin's cap"
    assert for_budget(grows, 3600, rows - 1) is grows, "small tables keep the plugin's cap"
    assert for_budget(grows, 3600, 1_000_000) is grows, "so do tables whose rungs are rows"
    assert for_budget(grows, 1.5 * GROW_FROM, rows).fidelity.high == 3000
    grown = for_budget(grows, 300, rows)
    assert grown.fidelity.high == 4000 and grown.fidelity.param == "iterations" and grown.fidelity.early_stopping
    assert for_budget(grows, 3600, rows).fidelity.high == 4000, "never past grow_to"
    assert rung_resources(grown.fidelity, 3, 3) == [444, 1333, 4000]
    assert for_budget(fixed, 3600, rows) is fixed


@pytest.mark.parametrize(
    "fidelity",
    [
        Fidelity("n_estimators", 8, 300, "n_estimators"),
        Fidelity("max_iter", 16, 500, "max_iter"),
        Fidelity("epochs", 5, 30, "max_epochs"),
        Fidelity("sample_fraction", 0.25, 1.0),
        Fidelity("n_estimators", 100, 120, "n_estimators"),
    ],
)
@pytest.mark.parametrize("rungs, eta", [(1, 3), (3, 3), (4, 2), (5, 4)])
def test_rung_schedule_is_monotone_and_bounded(fidelity, rungs, eta):
    resources = rung_resources(fidelity, rungs, eta)
    assert len(resources) == rungs
    assert resources[-1] == fidelity.high, "the last rung is the full resource"
    assert all(a <= b for a, b in zip(resources, resources[1:])), resources
    assert all(fidelity.low <= r <= fidelity.high for r in resources)
    if not fidelity.is_sample_fraction:
        assert all(float(r).is_integer() for r in resources)


def test_rungs_share_one_scale_across_families():
    trees = rung_resources(Fidelity("n_estimators", 1, 900, "n_estimators"), 3, 3)
    rows = rung_resources(Fidelity("sample_fraction", 0.01, 1.0), 3, 3)
    assert trees == [100, 300, 900]
    assert rows == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert [rung_step(k, 3) for k in range(3)] == [1, 3, 9]
    assert rung_resources(None, 3, 3) == [None, None, None]


def test_no_halving_on_tiny_data_or_when_off():
    assert n_rungs(300, halving=True) == 1
    assert n_rungs(5000, halving=False) == 1
    assert n_rungs(5000, halving=True) == 3


def test_subsample_is_nested_and_keeps_every_class():
    rows = np.arange(100, 300)
    y = np.zeros(400, dtype=int)
    y[299] = 1  # one row of a rare class
    small, large = subsample(rows, 0.1, y, seed=0), subsample(rows, 0.5, y, seed=0)
    assert set(small) <= set(large) and 299 in small and 100 <= len(large) <= 101
    assert subsample(rows, 1.0, y, seed=0) is rows


def test_small_fits_use_one_thread():
    from automl.search.threads import SMALL_DATA_ROWS, resolve_n_jobs, threads_for

    assert threads_for(SMALL_DATA_ROWS - 1, 8) == 1
    assert threads_for(SMALL_DATA_ROWS, 8) == 8
    assert resolve_n_jobs(-1) >= 1 and resolve_n_jobs(3) == 3


def test_a_kept_rung_keeps_its_fold_models_unless_trained_on_in_place():
    """A climb the budget cut keeps its best rung's fold models (the final model's fallback)
    when the next rung trained copies, or had not replaced them yet; not when it trained
    the same models further (a warm start)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from automl.search.kept_folds import untouched

    def pipe(model):
        return Pipeline([("model", model)])

    kept = [pipe(LogisticRegression()), pipe(LogisticRegression())]
    assert untouched(kept, list(kept)) is kept, "the next rung never finished a fold"
    assert untouched(kept, [pipe(LogisticRegression()), kept[1]]) is kept, "a copy trained on"
    assert untouched(kept, [pipe(kept[0].named_steps["model"]), kept[1]]) is None, "trained on in place"
    assert untouched([kept[0], None], kept) is None and untouched(None, kept) is None


def test_the_search_trains_catboost_to_its_grown_cap_at_a_long_budget():
    pytest.importorskip("catboost")
    from automl.search.session import open_search, prepare

    def specs(rows, budget):
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
        y = pd.Series(X["a"] * 2 + rng.normal(size=rows), name="y")
        p = prepare(X, y, task=None, metric=None, models=["catboost", "lightgbm"], exclude_models=(),
                    disable_plugins=(), plugins=())
        _, _, objective = open_search(p, Budget(budget), storage=None, study_name=None, artifacts=None, cv=3,
                                      cv_repeats=1, seed=0, time_budget=budget, halving=True, halving_eta=3, n_jobs=1)
        assert objective.specs["lightgbm"] is p.specs["lightgbm"], "a fidelity without grow_to is the plugin's own"
        return objective.specs

    assert specs(GROW_ROWS, 60)["catboost"].fidelity.high == 2000
    assert specs(GROW_ROWS, 300)["catboost"].fidelity.high == 4000
    assert specs(600, 300)["catboost"].fidelity.high == 2000, "a small table keeps the plugin's cap"


def test_auto_folds_give_mid_sized_tables_three_folds_from_a_five_minute_budget():
    from automl.search.cv import auto_folds

    assert auto_folds(4_000, 60) == 5 and auto_folds(8_000, 60) == 3
    assert auto_folds(15_000, 60) == 1 and auto_folds(15_000, 299) == 1, "a short budget: a holdout"
    assert auto_folds(15_000, 300) == 3 and auto_folds(15_000, None) == 3
    assert auto_folds(60_000, 3600) == 1
    assert auto_folds(15_000, 300, multiclass=True) == 1 and auto_folds(15_000, 600, multiclass=True) == 3


def test_a_five_minute_search_validates_a_mid_sized_regression_on_folds_and_many_classes_on_a_holdout():
    rng = np.random.default_rng(0)
    assert len(make_splits(rng.normal(size=12_000), Task.REGRESSION, "auto", 0, 300)) == 3
    assert len(make_splits(rng.normal(size=12_000), Task.REGRESSION, "auto", 0, 60)) == 1
    assert len(make_splits(rng.integers(0, 5, 12_000), Task.MULTICLASS, "auto", 0, 300)) == 1


def test_the_oof_store_keeps_the_first_of_equal_scores_the_final_model_is_built_on():
    """More than KEEP_OOF trials score the same (a long search drawing parameters that make the
    same model): the first of them, the one the final model takes, keeps its predictions."""
    from types import SimpleNamespace

    from automl.search.store import KEEP_OOF, MemoryResults

    store = MemoryResults()
    store.put(SimpleNamespace(number=0), 0.5, np.zeros(4))
    for number in range(1, KEEP_OOF + 5):
        store.put(SimpleNamespace(number=number), 0.8, np.full(4, number, dtype=float))
    assert len(store.arrays) == KEEP_OOF
    assert store.has(SimpleNamespace(number=1)), "the first trial of the best score must keep its predictions"
    assert not store.has(SimpleNamespace(number=0)) and not store.has(SimpleNamespace(number=KEEP_OOF + 4))
    store.put(SimpleNamespace(number=99), 0.9, np.ones(4))  # a better one pushes out the latest of the equals
    assert store.has(SimpleNamespace(number=99)) and store.has(SimpleNamespace(number=1))


def test_each_familys_best_keeps_its_predictions_however_many_better_trials_of_another():
    """The ensemble takes each family's best first: a long search's many near-twins of one
    family must not push the other families' best trials out of either store."""
    import tempfile
    from types import SimpleNamespace

    import optuna
    from optuna.artifacts import FileSystemArtifactStore

    from automl.search.record import TrialRecord
    from automl.search.store import KEEP_OOF, PER_FAMILY, ArtifactResults, MemoryResults

    n_trees = KEEP_OOF + 5
    scores = [("trees", 0.7 + i / 1000) for i in range(n_trees)] + [("knn", 0.6), ("knn", 0.55), ("knn", 0.5)]
    scores.append(("trees", 0.65))  # neither among the best nor its family's two: not kept
    memory = MemoryResults()
    for number, (model, score) in enumerate(scores):
        memory.put(SimpleNamespace(number=number, params={"model": model}), score, np.full(4, float(number)))
    # knn's best two, and the best of the others up to KEEP_OOF in all
    assert sorted(memory.arrays) == list(range(n_trees - KEEP_OOF + PER_FAMILY, n_trees)) + [n_trees, n_trees + 1]

    with tempfile.TemporaryDirectory() as tmp:  # uploaded when it finishes, if among them then
        stored = ArtifactResults(FileSystemArtifactStore(tmp))
        study = optuna.create_study(direction="maximize")
        for number, (model, score) in enumerate(scores):
            study.enqueue_trial({"model": model})
            trial = study.ask()
            trial.suggest_categorical("model", ["knn", "trees"])
            stored.put(trial, score, np.full(4, float(number)))
            study.tell(trial, score)
        kept = [t.number for t in study.trials if stored.has(TrialRecord.from_trial(t))]
        assert kept == list(range(n_trees + 2))
        np.testing.assert_array_equal(stored.get(TrialRecord.from_trial(study.trials[n_trees])), np.full(4, n_trees))
