import numpy as np
import pytest

from automl.exceptions import DataError, PluginError
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.space import NamespacedTrial, strip_namespace
from automl.spec import Fidelity, ModelSpec
from automl.task import Task


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
    clock.now += 20
    assert budget.remaining() == pytest.approx(40)
    budget.record_fold("m", 2.0, rows=1000)
    budget.record_fold("m", 4.0, rows=1000)
    budget.record_fold("m", 3.0, rows=1000)
    assert budget.estimate_fold("m", 2000) == pytest.approx(6.0)  # median per row x rows
    assert budget.estimate_fold("other", 10) is None
    budget.note_best(10.0)
    assert budget.search_remaining() == pytest.approx(40 - 10 - 1.8)
    assert budget.can_afford(28) and not budget.can_afford(28.3)
    assert Budget(None, clock=clock).search_remaining() == float("inf")


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
    assert set(ns.params) == {"alpha", "solver"}
    assert strip_namespace({"ridge__alpha": 1, "model": "x"}, "ridge") == {"alpha": 1}


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
