"""The ``automl`` command line, called in-process through ``main(argv) -> int``
(and once as a real subprocess). Fits are tiny: few trials of fast models."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl.datasets
from automl.cli import main

TITANIC = Path(automl.datasets.__file__).parent / "titanic.csv.gz"
FAST = ["--models", "logistic_regression,decision_tree", "--trials", "3", "--time", "60", "--cv", "2", "--jobs", "1"]


def _frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    return pd.DataFrame(
        {
            "row_id": np.arange(1000, 1000 + n),
            "x": x,
            "z": rng.normal(size=n),
            "color": color,
            "label": np.where(x + (color == "red") + rng.normal(scale=0.5, size=n) > 0.3, "yes", "no"),
        }
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model fitted by the CLI on a small binary CSV: (dir, data path, model path)."""
    d = tmp_path_factory.mktemp("cli")
    data = d / "train.csv"
    _frame().to_csv(data, index=False)
    model = d / "m.automl"
    assert main(["fit", str(data), "--target", "label", "--out", str(model), "--quiet", *FAST]) == 0
    return d, data, model


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ------------------------------------------------------------ basics / help --
def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: automl" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "predict", "explain", "report", "info", "plugins"])
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: automl {command}" in out and "--debug" in out


def test_fit_help_states_default_budget_and_outputs(capsys):
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--time", "--trials", "--metric", "--task", "--models", "--exclude-models", "--seed",
                   "--jobs", "--out", "--quiet", "--json"):
        assert option in out
    assert "default 60" in out and ".automl.json" in out


def test_version_in_a_real_subprocess():
    result = subprocess.run([sys.executable, "-m", "automl", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("automl ")


# ------------------------------------------------------------------ plugins --
def test_plugins_lists_builtin_models(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "boosting (automl" in out and "lightgbm: tasks=binary,multiclass,regression" in out
    assert "gaussian_mixture: tasks=binary,multiclass" in out


def test_plugins_json(capsys):
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    boosting = next(p for p in data["plugins"] if p["name"] == "boosting")
    assert boosting["distribution"] == "automl" and boosting["version"]
    lgbm = boosting["models"]["lightgbm"]
    assert lgbm["tasks"] == ["binary", "multiclass", "regression"]
    assert lgbm["handles_categorical"] is True and "gpu" in lgbm and lgbm["fidelity"]["kind"]


# --------------------------------------------------------------- usage errors --
def test_wrong_target_suggests_the_closest_column(capsys):
    assert main(["fit", str(TITANIC), "--target", "survived"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "'survived'" in line and "'Survived'" in line


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--time", "abc"], "--time"),
        (["--time", "-5"], "--time"),
        (["--trials", "0"], "--trials"),
        (["--task", "ranking"], "--task"),
        (["--jobs", "0"], "--jobs"),
        (["--models", "lightgmb"], "'lightgbm'"),
        (["--exclude-models", "nope_model"], "--exclude-models"),
        (["--metric", "accuracyy"], "--metric"),
        (["--out", "/no/such/dir/m.automl"], "--out"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(argv, needle, capsys):
    assert main(["fit", str(TITANIC), "--target", "Survived", *argv]) == 2
    assert needle in _one_line(capsys.readouterr().err)


def test_missing_target_option_is_a_usage_error(capsys):
    assert main(["fit", str(TITANIC)]) == 2
    assert "--target" in _one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- failures --
def test_missing_file_is_a_one_line_failure(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope.csv"), "--target", "y"]) == 1
    assert "nope.csv" in _one_line(capsys.readouterr().err)


def test_not_a_model_file(tmp_path, capsys):
    bogus = tmp_path / "bogus.automl"
    bogus.write_text("hello")
    for command in (["info", str(bogus)], ["predict", str(bogus), str(TITANIC)], ["report", str(bogus)]):
        assert main(command) == 1
        assert "not an automl model" in _one_line(capsys.readouterr().err)


def test_debug_shows_the_traceback(tmp_path, capsys):
    bogus = tmp_path / "bogus.automl"
    bogus.write_text("hello")
    assert main(["info", str(bogus), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---------------------------------------------------------------------- fit --
def test_fit_writes_model_and_run_report(fitted):
    d, _, model = fitted
    text = Path(str(model) + ".json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    report = json.loads(text)
    assert report["task"]["task"] == "binary" and "2 distinct" in report["task"]["reason"]
    assert report["dropped"] == {"row_id": "id-like: an integer that is different on every row"}
    assert {c["name"]: c["role"] for c in report["columns"]}["color"] == "categorical"
    assert report["trials"]["total"] >= 1 and "pruned" in report["pruning"]
    assert report["ensemble"]["kind"] in ("single", "ensemble")
    assert "importances" in report and report["timings"]["total"] > 0
    assert report["best"]["model"] in ("logistic_regression", "decision_tree")


def test_fit_prints_summary_and_progress(tmp_path, capsys):
    data = tmp_path / "small.csv"
    _frame(120).to_csv(data, index=False)
    assert main(["fit", str(data), "--target", "label", "--out", str(tmp_path / "s.automl"), *FAST]) == 0
    captured = capsys.readouterr()
    assert "Task: binary" in captured.out and "Leaderboard" in captured.out
    assert "Final model:" in captured.out and "s.automl" in captured.out
    assert "[automl]" in captured.err and "[automl]" not in captured.out  # logs on stderr only


def test_fit_json_from_stdin_default_name_in_cwd(tmp_path, monkeypatch, capsys):
    import io

    payload = _frame(120).to_csv(index=False, sep=";").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload)))
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "-", "--target", "label", "--json", "--quiet", "--ignore", "z", *FAST]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["task"]["task"] == "binary" and report["input"] == "<stdin>"
    assert report["features"] == ["row_id", "x", "color"]
    assert (tmp_path / "stdin.automl").is_file() and (tmp_path / "stdin.automl.json").is_file()
    assert captured.err == ""


def test_fit_regression_and_report_html(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    frame["price"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.1, size=150)
    data = tmp_path / "reg.csv.gz"
    frame.to_csv(data, index=False)
    model = tmp_path / "reg.automl"
    argv = ["fit", str(data), "-t", "price", "--out", str(model), "--quiet", "--models", "ridge,decision_tree",
            "--trials", "2", "--cv", "2"]
    assert main(argv) == 0
    assert "Task: regression" in capsys.readouterr().out
    html_path = tmp_path / "reg.html"
    assert main(["report", str(model), "--html", str(html_path)]) == 0
    html = html_path.read_text()
    assert "No predicted-vs-actual plot" in html and "the model keeps no training rows" in html
    assert "<th>RMSE</th>" in html, "the out-of-fold summary is kept, not the rows"
    assert "HTML report written" in capsys.readouterr().err
    assert main([*argv, "--keep-training-sample"]) == 0  # the plot needs the rows' targets
    assert main(["report", str(model), "--html", str(html_path)]) == 0
    html = html_path.read_text()
    assert "Predicted vs actual" in html and html.count("data:image/png;base64,") >= 2
    assert "the model keeps 150 training rows" in html
    capsys.readouterr()
    assert main(["predict", str(model), str(data), "--proba"]) == 2
    assert "--proba" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------------------ predict --
def test_predict_csv_to_stdout(fitted, capsys):
    _, data, model = fitted
    assert main(["predict", str(model), str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "label" and len(lines) == 241 and set(lines[1:]) <= {"yes", "no"}


def test_predict_proba_with_id_to_file(fitted, tmp_path, capsys):
    _, data, model = fitted
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(data), "--proba", "--id", "row_id", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["row_id", "no", "yes"] and len(preds) == 240
    assert preds["row_id"].iloc[0] == 1000
    np.testing.assert_allclose(preds[["no", "yes"]].sum(axis=1), 1.0, rtol=1e-6)


def test_predict_wrong_id_and_missing_column(fitted, tmp_path, capsys):
    _, data, model = fitted
    assert main(["predict", str(model), str(data), "--id", "Row_Id"]) == 2
    assert "'row_id'" in _one_line(capsys.readouterr().err)
    pd.read_csv(data).drop(columns=["x"]).to_csv(tmp_path / "lacks.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "lacks.csv")]) == 2, "data to fix: a usage error"
    assert "'x'" in _one_line(capsys.readouterr().err)


# ------------------------------------------------------- info / report / explain --
def test_info_text_and_json(fitted, capsys):
    _, _, model = fitted
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "Task: binary" in out and "Target: label" in out and "sklearn" in out and "  color: categorical" in out
    assert main(["info", str(model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["target"] == "label" and info["columns"] == ["row_id", "x", "z", "color"]
    assert info["versions"]["automl"] and info["best_model"]


def test_report_text_json_and_html(fitted, capsys):
    d, _, model = fitted
    assert main(["report", str(model)]) == 0
    assert "Leaderboard" in capsys.readouterr().out
    assert main(["report", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == "label"
    html_path = d / "r.html"
    assert main(["report", str(model), "--html", str(html_path)]) == 0
    html = html_path.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Confusion matrix" in html and "Search history" in html
    assert html.count('src="data:image/png;base64,') >= 2 and "http" not in html.replace("http-equiv", "")


def test_report_html_without_matplotlib(fitted, tmp_path, monkeypatch, capsys):
    _, _, model = fitted
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["report", str(model), "--html", str(tmp_path / "r.html")]) == 1
    assert "pip install matplotlib" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "r.html").exists()


def test_explain_reports_a_core_failure_in_one_line(fitted, monkeypatch, capsys):
    from automl.estimator import AutoML
    from automl.exceptions import DataError

    def broken(self):
        raise DataError("column 'x' is missing from the data")

    monkeypatch.setattr(AutoML, "feature_importances", broken)
    _, _, model = fitted
    assert main(["explain", str(model)]) == 2
    assert "column 'x' is missing" in _one_line(capsys.readouterr().err)
    assert main(["report", str(model)]) == 0, "a report still comes out, without importances"
    assert "Feature importances: feature importances could not be computed" in capsys.readouterr().out


def test_explain_and_report_show_the_final_model_and_its_importances(fitted, capsys):
    from automl.estimator import AutoML

    d, data, model = fitted
    aml = AutoML.load(model)
    assert main(["explain", str(model)]) == 0
    out = capsys.readouterr().out
    top = aml.feature_importances().index[0]
    assert "Most important: " + top in out and out.index(f" {top} ") < out.index("Most important")
    assert main(["explain", str(model), "--json", "--top", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["feature"] for r in data["importances"]][0] == top and len(data["importances"]) == 2
    assert data["explanation"].startswith("The final model")
    assert main(["report", str(model)]) == 0
    out = capsys.readouterr().out
    members = aml.ensemble_.members
    if aml.ensemble_.method == "single":
        assert f"the single best pipeline, {members[0]['model']}" in out
    else:
        assert f"ensemble of {len(members)} pipelines" in out
    assert "Top features" in out
    html_path = d / "r2.html"
    assert main(["report", str(model), "--html", str(html_path)]) == 0
    assert html_path.read_text().count("data:image/png;base64,") >= 3
