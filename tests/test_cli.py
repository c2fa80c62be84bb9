import subprocess
import sys

from automl.cli import main


def test_plugins_lists_builtin_models(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "boosting (automl" in out and "lightgbm: tasks=binary,multiclass,regression" in out
    assert "gaussian_mixture: tasks=binary,multiclass" in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "automl", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("automl ")
