"""A metric for automl: the normalised Gini coefficient (2·AUC − 1) of credit scoring.

Select it with ``AutoML(metric="gini")`` or ``automl fit ... --metric gini``.
"""

from sklearn.metrics import roc_auc_score

from automl import MetricSpec, Task, hookimpl


def gini(y_true, proba):
    """``y_true``: class indices 0/1; ``proba``: one column per class, in classes_ order."""
    return 2.0 * roc_auc_score(y_true, proba[:, 1]) - 1.0


@hookimpl
def automl_register_metrics():
    return [MetricSpec("gini", frozenset({Task.BINARY}), gini, needs_proba=True,
                       description="normalised Gini coefficient, 2 * ROC AUC - 1")]
