"""The PyTorch MLP plugin (its contract checks run with every built-in plugin's, in
test_builtin_plugins.py): its spec, training behaviour, devices, no torch."""

from __future__ import annotations

import importlib.util
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from automl import AutoML, BuildContext, Task
from automl_plugins import torch_mlp

torch = pytest.importorskip("torch")
from automl_plugins import mlp_estimator  # noqa: E402
from automl_plugins.mlp_estimator import TorchMLPClassifier, TorchMLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::FutureWarning:sklearn.*")  # no deprecated sklearn usage
SPEC = torch_mlp.MLP
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def blobs(n=300, seed=0, noise=1.0):
    """Three Gaussian classes in 6 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(scale=noise, size=(n, 6)).astype(np.float32)
    X[:, :3] += 2.0 * np.eye(3, dtype=np.float32)[y]
    return X, y


def small(cls=TorchMLPClassifier, **params):
    base = dict(hidden_layers=2, width=32, max_epochs=6, patience=100, random_state=0, n_jobs=1, device="cpu")
    return cls(**{**base, **params})


def test_spec_contract():
    assert SPEC.tasks == frozenset(Task) and SPEC.requires == ("torch",) and SPEC.gpu and SPEC.warm_start
    assert SPEC.needs_scaling and not SPEC.handles_missing and not SPEC.handles_categorical
    assert SPEC.fidelity.kind == "epochs" and SPEC.fidelity.param == "max_epochs" and SPEC.cost == 3.0
    assert [s.name for s in torch_mlp.automl_register_models()] == ["mlp"]
    model = SPEC.build({}, BuildContext(task=Task.MULTICLASS, random_state=3, n_jobs=2, time_limit=9.0))
    assert isinstance(model, TorchMLPClassifier)
    expected = {"max_epochs": SPEC.fidelity.high, "random_state": 3, "n_jobs": 2, "device": "auto", "max_time": 9.0}
    assert {k: model.get_params()[k] for k in expected} == expected
    assert isinstance(SPEC.build({}, BuildContext(task=Task.REGRESSION)), TorchMLPRegressor)
    # The space's "none" choices reach the estimator as None; a regressor gets no label smoothing;
    # every rung follows the schedule planned on the full resource.
    built = SPEC.build({"norm": "none", "embedding": "none", "label_smoothing": 0.1}, BuildContext(task=Task.REGRESSION))
    assert built.get_params()["norm"] is None and built.get_params()["embedding"] is None
    assert "label_smoothing" not in built.get_params() and built.schedule_epochs == SPEC.fidelity.high
    assert SPEC.build({"label_smoothing": 0.1}, BuildContext(task=Task.BINARY)).label_smoothing == 0.1


def test_without_a_gpu_large_tables_skip_the_mlp(monkeypatch):
    """On CPU only, more than ``CPU_MAX_ROWS`` training rows skip the MLP (too costly); the
    driver check does not import torch and honours a hidden GPU (``CUDA_VISIBLE_DEVICES``)."""
    from automl.registry import discover

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not torch_mlp._nvidia_driver()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    gpu = torch_mlp._nvidia_driver()
    assert SPEC.max_rows == (None if gpu else torch_mlp.CPU_MAX_ROWS)
    if not gpu:
        chosen, why = discover().select(Task.BINARY, torch_mlp.CPU_MAX_ROWS + 1)
        assert "mlp" not in [s.name for s in chosen] and "too costly" in why["mlp"]


def test_the_first_rung_plans_the_full_schedule_and_a_refit_anneals_in_its_own():
    """A fit at the first rung plans the schedule on the full resource (the rungs continue
    it); a fresh fit above it (the final refit at a kept rung) anneals within its epochs.
    Regression trains at ``_REGRESSION_LR`` times the learning rate it is given."""
    low, high = int(SPEC.fidelity.low), int(SPEC.fidelity.high)
    ctx = BuildContext(task=Task.BINARY, time_limit=30.0)
    assert SPEC.build({"max_epochs": low}, ctx).schedule_epochs == high
    assert SPEC.build({"max_epochs": 20}, BuildContext(task=Task.BINARY)).schedule_epochs == 20
    assert SPEC.build({"learning_rate": 1e-3}, ctx).learning_rate == 1e-3
    regressor = SPEC.build({"learning_rate": 1e-3}, BuildContext(task=Task.REGRESSION))
    assert regressor.learning_rate == pytest.approx(1e-3 * torch_mlp._REGRESSION_LR)


def test_numpy_and_frame_inputs_and_fitted_attributes():
    X, y = blobs()
    model = small().fit(X, y)
    assert model.n_features_in_ == 6 and list(model.classes_) == [0, 1, 2] and model.n_epochs_ == 6
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, atol=1e-9)
    assert model.score(X, y) > 0.8
    frame = pd.DataFrame(X.astype(np.float64), columns=[f"f{i}" for i in range(6)])
    labels = np.array(["a", "b", "c"])[y]
    model = small().fit(frame, labels)
    assert list(model.feature_names_in_) == list(frame.columns) and set(model.predict(frame)) <= set(labels)


def test_regression_target_is_standardised_and_inverted():
    X, y = blobs(seed=1)
    target = 50_000 + 10_000 * X[:, 0].astype(np.float64) - 5_000 * X[:, 1]
    model = small(TorchMLPRegressor, max_epochs=30).fit(X, target)
    assert model.y_mean_ == pytest.approx(target.mean()) and model.y_scale_ == pytest.approx(target.std())
    assert model.score(X, target) > 0.9


def test_early_stopping_restores_the_best_weights():
    X, y = blobs(n=400, noise=2.5)  # noisy: a wide net at a high rate overfits soon
    model = small(width=256, dropout=0.0, learning_rate=1e-2, weight_decay=0.0, max_epochs=200, patience=3)
    model.fit(X, y)
    assert model.stopped_early_ and model.n_epochs_ == model.best_epoch_ + 3 < 200
    assert model.history_[model.best_epoch_ - 1] == model.best_loss_ < model.history_[-1]
    _, val = model._split(y)
    # The best epoch's weights at temperature 1 score its validation loss; the fitted
    # temperature can only lower it (it is chosen on those rows).
    calibrated = log_loss(y[val], model.predict_proba(X[val]), labels=[0, 1, 2])
    temperature, model.temperature_ = model.temperature_, 1.0
    assert log_loss(y[val], model.predict_proba(X[val]), labels=[0, 1, 2]) == pytest.approx(model.best_loss_, rel=1e-4)
    assert temperature != 1.0 and calibrated < model.best_loss_
    model.temperature_ = temperature
    # A stopped model does not train on when asked for more epochs.
    model.set_params(max_epochs=300, warm_start=True).fit(X, y)
    assert model.n_epochs_ == model.best_epoch_ + 3


def test_patience_runs_on_across_warm_starts():
    """Rungs of successive halving train in pieces: epochs without progress before a warm
    start still count towards the patience. With a learning rate of 0 (and no batch norm)
    no epoch after the first improves: the first fit ends 2 epochs into its patience of 5,
    so the continuation stops after 3 more, not 5."""
    X, y = blobs()
    model = small(learning_rate=0.0, norm=None, dropout=0.0, patience=5, max_epochs=3).fit(X, y)
    assert not model.stopped_early_ and model.bad_epochs_ == 2
    model.set_params(max_epochs=100, warm_start=True).fit(X, y)
    assert model.stopped_early_ and model.n_epochs_ == 3 + 3


def test_seeded_runs_are_reproducible_on_cpu():
    X, y = blobs()
    a, b = small(dropout=0.2).fit(X, y), small(dropout=0.2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = small(dropout=0.2, random_state=1).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_warm_start_continues_up_to_the_new_total(monkeypatch):
    X, y = blobs()
    model = small(max_epochs=3).fit(X, y)
    module, trained = model.module_, {k: v.clone() for k, v in model.module_.state_dict().items()}
    built = []
    monkeypatch.setattr(mlp_estimator, "network", lambda **kw: built.append(kw))  # must not be called
    model.set_params(max_epochs=7, warm_start=True).fit(X, y)
    assert model.n_epochs_ == 7 and len(model.history_) == 7 and not built  # 7 in total, not 3 + 7
    assert model.module_ is module and any(
        not torch.equal(v, trained[k]) for k, v in module.state_dict().items()
    )  # the trained weights went on training
    before = model.predict_proba(X)
    model.fit(X, y)  # already at max_epochs: nothing more
    assert model.n_epochs_ == 7
    np.testing.assert_array_equal(model.predict_proba(X), before)
    monkeypatch.undo()
    model.set_params(warm_start=False).fit(X, y)  # without warm_start: a fresh model
    assert model.n_epochs_ == 7 and model.module_ is not module


def test_the_schedule_and_the_optimizer_continue_across_warm_starts():
    """Rungs continue one learning-rate schedule planned on ``schedule_epochs`` (no restart
    of the warm-up, no second decay), with the same AdamW and its moments."""
    X, y = blobs()
    model = small(max_epochs=3, schedule_epochs=6, learning_rate=1e-2).fit(X, y)
    optimizer, steps_per_epoch = model.optimizer_, None
    steps = next(iter(optimizer.state.values()))["step"]
    steps_per_epoch = steps / 3
    middle = optimizer.param_groups[0]["lr"]
    assert 1e-3 < middle < 1e-2  # half-way down the cosine, not at its end
    model.set_params(max_epochs=6, warm_start=True).fit(X, y)
    assert model.optimizer_ is optimizer and next(iter(optimizer.state.values()))["step"] == 6 * steps_per_epoch
    end = optimizer.param_groups[0]["lr"]
    one_fit = small(max_epochs=6, learning_rate=1e-2).fit(X, y)
    assert end < 1e-4 and end == pytest.approx(one_fit.optimizer_.param_groups[0]["lr"])
    assert "optimizer_" not in model.__getstate__()


def test_our_adamw_steps_as_torchs_does():
    """The optimizer matches ``torch.optim.AdamW`` (decay on one group, none on the other)."""
    from automl_plugins._mlp_runtime import AdamW

    torch.manual_seed(0)
    ours, theirs = (torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
                    for _ in range(2))
    theirs.load_state_dict(ours.state_dict())
    start = ours[0].weight.detach().clone()
    X, y = torch.randn(64, 5), torch.randn(64, 2)
    optimizers = []
    for model, cls in ((ours, AdamW), (theirs, torch.optim.AdamW)):
        weights = [p for p in model.parameters() if p.ndim > 1]
        biases = [p for p in model.parameters() if p.ndim == 1]
        optimizers.append(cls([{"params": weights, "weight_decay": 0.1}, {"params": biases, "weight_decay": 0.0}],
                              lr=0.05))
    for step in range(20):
        for model, optimizer in zip((ours, theirs), optimizers):
            for group in optimizer.param_groups:
                group["lr"] = 0.05 * (1 - step / 20)
            optimizer.zero_grad(set_to_none=True)
            ((model(X) - y) ** 2).mean().backward()
            optimizer.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert (ours[0].weight - start).abs().max() > 0.1  # it trained


def test_training_does_not_import_torchs_compiler():
    """A fit leaves ``torch._dynamo`` unimported (70 MB of modules a ``torch.optim``
    optimizer would load); checked in a fresh interpreter."""
    code = ("import sys, numpy as np\n"
            "from automl_plugins.mlp_estimator import TorchMLPClassifier\n"
            "X = np.random.default_rng(0).normal(size=(200, 4)).astype('float32')\n"
            "TorchMLPClassifier(max_epochs=2, width=16, k=2, random_state=0).fit(X, X[:, 0] > 0).predict_proba(X)\n"
            "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo'))[:3])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_members_scaling_and_embeddings():
    """k members give k outputs, averaged; two-valued columns are not embedded; the
    robust scaling clips smoothly (an outlier a million IQRs away stays below 3)."""
    from automl_plugins._mlp_net import embedded_columns

    X, y = blobs()
    X = np.column_stack([X, (X[:, 0] > 0).astype(np.float32)])  # a one-hot-like column
    X[0, 1] = 1e6
    model = small(k=3).fit(X, y)
    assert model.architecture_["embed_columns"] == list(range(6)) == embedded_columns(X)
    raw = model._predict_raw(X)
    assert raw.shape == (len(X), 3, 3)
    np.testing.assert_allclose(model.predict_proba(X), torch.softmax(raw / model.temperature_, -1).mean(1).numpy(),
                               rtol=1e-5)
    scaled = model.module_.scale(torch.from_numpy(X))
    assert scaled.abs().max() <= 3.0 and scaled[0, 1] > 2.99 and scaled[1:, 1].abs().max() < 2.5
    clean, _ = blobs()
    plain = small(k=1, embedding=None, scaling=None).fit(clean, y)
    assert plain.module_.embed is None and plain.module_.scale is None and plain.module_.mlp.adapter is None
    assert plain.score(clean, y) > 0.8


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5])
def test_the_cpu_dropout_drops_at_its_rate_and_keeps_the_mean(p):
    """The packed-byte mask drops ``p`` of the values (rounded to 1/256), each kept one
    scaled by 1 / (1 - p), passes gradients through the kept ones only, repeats under a
    seed, and is the identity in evaluation."""
    from automl_plugins._mlp_net import Dropout

    layer = Dropout(p).train()
    x = torch.ones(4096, 97, requires_grad=True)  # an odd element count: the last draw is cut
    torch.manual_seed(0)
    out = layer(x)
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - round(256 * p) / 256) < 0.01
    assert abs(out.mean().item() - 1.0) < 0.02
    out.sum().backward()
    assert torch.equal(x.grad == 0, out == 0) and torch.allclose(x.grad[out != 0], out[out != 0])
    torch.manual_seed(0)
    assert torch.equal(layer(x), out)
    assert layer(x).ne(out).any(), "a new mask each call"
    assert layer.eval()(x) is x and Dropout(0.0).train()(x) is x


def test_the_leaderboard_says_where_a_trial_trained(mixed_frame):
    aml = AutoML(models=["mlp"], n_trials=1, time_budget=None, verbose=0).fit(mixed_frame, "y")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert all(f"device: {device}" in note for note in aml.leaderboard()["note"])


def test_on_repeated_folds_the_mlp_is_bagged_and_its_file_loads(mixed_frame, tmp_path):
    """``bagged``: on a small table whose folds are repeated the MLP's final model is its
    trial's 10 fold networks averaged; the model file stores each without pickle."""
    from automl.final.fold_models import FoldAverage

    assert SPEC.bagged
    aml = AutoML(models=["mlp"], n_trials=1, time_budget=60, cv_repeats=2, infer_limit=None, verbose=0)
    aml.fit(mixed_frame, "y")
    assert isinstance(aml.best_model_, FoldAverage) and len(aml.best_model_.pipelines) == 10
    X = mixed_frame.drop(columns="y")
    aml.save(tmp_path / "m.automl")
    np.testing.assert_allclose(AutoML.load(tmp_path / "m.automl").predict_proba(X), aml.predict_proba(X))


def test_max_time_stops_the_epoch_loop():
    X, y = blobs()
    model = small(max_epochs=50, max_time=0.0).fit(X, y)
    assert model.n_epochs_ == 1 and not model.stopped_early_


def test_threads_are_restored_and_the_cpu_is_honoured():
    X, y = blobs()
    before = torch.get_num_threads()
    model = small(n_jobs=1, device="cpu").fit(X, y)
    assert torch.get_num_threads() == before
    assert next(model.module_.parameters()).device.type == "cpu"
    assert mlp_estimator.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_pickled_state_holds_cpu_tensors():
    X, y = blobs()
    model = small().fit(X, y)
    state = model.__getstate__()
    assert all(isinstance(v, torch.Tensor) and v.device.type == "cpu" for v in state["module_"].values())
    assert isinstance(model.module_, torch.nn.Module)  # pickling leaves the fitted model alone


def test_without_torch_the_module_imports_and_the_spec_is_skipped(monkeypatch, mixed_frame):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.delitem(sys.modules, "automl_plugins.mlp_estimator")
    source = importlib.util.spec_from_file_location("torch_mlp_without_torch", torch_mlp.__file__)
    module = importlib.util.module_from_spec(source)
    source.loader.exec_module(module)
    spec = module.automl_register_models()[0]
    with pytest.raises(ImportError):
        spec.build(spec.default_params[0], BuildContext(task=Task.BINARY))

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    aml = AutoML(time_budget=None, n_trials=1, models=["mlp", "logistic_regression"], verbose=0)
    aml.fit(mixed_frame, "y")
    assert aml.skipped_models_["mlp"].startswith("requires torch, not installed")
    assert aml.best_model_name_ == "logistic_regression"


@pytest.mark.gpu
@cuda
def test_cuda_training_and_cpu_loading():
    X, y = blobs(n=2000)
    model = small(device="cuda", max_epochs=5).fit(X, y)
    assert next(model.module_.parameters()).device.type == "cuda"
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    restored = pickle.loads(pickle.dumps(model))  # as on a CPU-only machine: weights on the CPU
    assert next(restored.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=2e-2)  # autocast on the GPU
    auto = small(device="auto", max_epochs=2).fit(X, y)
    assert next(auto.module_.parameters()).device.type == "cuda" and auto.device_.startswith("cuda")


def test_the_model_file_stores_weights_that_load_without_pickle(tmp_path, monkeypatch):
    """The MLP's serializer: attributes as JSON, the state_dict read with weights_only=True;
    a crafted weights file (a pickle that would run code) is refused and runs nothing."""
    from automl_plugins import _mlp_files

    X, y = blobs()
    model = small().fit(X, y)
    files = _mlp_files.dump_mlp(model)
    assert set(files) == {"estimator.json", "weights.pt"}
    name = "automl_plugins.mlp_estimator.TorchMLPClassifier"
    again = _mlp_files.load_mlp(name, files)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert again.n_epochs_ == model.n_epochs_ and again.history_ == model.history_
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return open, (str(marker), "w")

    buffer = io.BytesIO()
    torch.save(Payload(), buffer)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        _mlp_files.load_mlp(name, {**files, "weights.pt": buffer.getvalue()})
    assert not marker.exists()


@pytest.mark.gpu
@cuda
def test_a_model_file_of_a_gpu_fit_loads_and_predicts_on_a_machine_without_one(tmp_path):
    X, y = blobs(n=2000)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(y=y)
    aml = AutoML(models=["mlp"], n_trials=1, time_budget=None, verbose=0).fit(frame, "y")
    assert next(aml.best_model_.named_steps["model"].module_.parameters()).device.type == "cuda"
    aml.save(tmp_path / "gpu.automl")
    script = ("import sys, numpy, pandas, torch; from automl import AutoML; assert not torch.cuda.is_available(); "
              "frame = pandas.read_csv(sys.argv[1]); "
              "numpy.save(sys.argv[3], AutoML.load(sys.argv[2]).predict_proba(frame))")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "rows.csv"), str(tmp_path / "gpu.automl"),
                    str(tmp_path / "cpu.npy")], env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, check=True)
    on_cpu = np.load(tmp_path / "cpu.npy")
    loaded = AutoML.load(tmp_path / "gpu.automl")  # the weights load on the CPU here too
    assert next(loaded.best_model_.named_steps["model"].module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(pd.read_csv(tmp_path / "rows.csv")), on_cpu)
    np.testing.assert_allclose(on_cpu, aml.predict_proba(frame), atol=2e-2)  # autocast on the GPU


@pytest.mark.gpu
@cuda
def test_cuda_warm_start_and_regression():
    X, y = blobs(n=2000)
    target = X[:, 0] * 3.0 + X[:, 1]
    model = small(TorchMLPRegressor, device="cuda", max_epochs=3).fit(X, target)
    model.set_params(max_epochs=8, warm_start=True).fit(X, target)
    assert model.n_epochs_ == 8 and model.score(X, target) > 0.8


#: Float32 matrix products round the last bits differently for another number of rows, so
#: predictions on a subset of the rows differ from the whole batch's by ~1e-7 (the check
#: asks for 1e-7).
_FLOAT32_SUBSET = {"check_methods_subset_invariance": "float32 products differ in the last bits by batch size"}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API check
@pytest.mark.parametrize("cls", [TorchMLPClassifier, TorchMLPRegressor], ids=lambda c: c.__name__)
def test_mlp_estimators_pass_check_estimator(cls):
    """scikit-learn's own estimator checks, as the Gaussian-mixture classifier runs them
    (a small network trained long enough to learn check_regressors_train's data: 20 epochs
    pass, 40 leave a margin; 100 took 143 s of the suite for the pair, 40 take 56 s)."""
    from sklearn.utils.estimator_checks import check_estimator

    est = cls(hidden_layers=2, width=64, max_epochs=40, patience=40, device="cpu", random_state=0)  # GPU: autocast
    check_estimator(est, expected_failed_checks=_FLOAT32_SUBSET)


def test_the_plain_wide_mlp_is_tried_first_from_ten_thousand_rows_of_many_classes():
    """Half the first default's cost an epoch: tried first on large tables of more than two
    classes (letter); on regression and binary tables the first default stays first."""
    from automl.data.profile import profile_frame

    def defaults(rows, n_classes):
        return torch_mlp.MLP.defaults(profile_frame(pd.DataFrame({"a": np.arange(float(rows))}), n_classes=n_classes))

    small, large = defaults(9_999, 26), defaults(10_000, 26)
    assert small == torch_mlp.MLP.default_params
    assert (large[0]["k"], large[0]["embedding"]) == (1, "none")
    assert sorted(map(str, large)) == sorted(map(str, small)), "the same configurations, reordered"
    assert defaults(10_000, 0) == defaults(10_000, 2) == torch_mlp.MLP.default_params
