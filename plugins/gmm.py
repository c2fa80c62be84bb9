"""Generative classifier: one Gaussian mixture per class, combined by Bayes' rule."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl
from automl_plugins._common import with_resource

_FIDELITY = Fidelity("max_iter", low=10, high=200, param="max_iter")


class GaussianMixtureClassifier(ClassifierMixin, BaseEstimator):
    """Fit a :class:`~sklearn.mixture.GaussianMixture` to each class's rows and predict
    ``P(class | x)`` proportional to ``P(class) * p(x | class)``.

    Parameters
    ----------
    n_components : mixture components per class, capped by the class's row count.
    covariance_type, reg_covar, max_iter : passed to every ``GaussianMixture``.
    random_state : seeds the mixtures' initialisation.

    Attributes
    ----------
    classes_ : the class labels, sorted.
    class_log_prior_ : log of the class frequencies in the training data.
    mixtures_ : one fitted ``GaussianMixture`` per class, in the order of ``classes_``.
    n_iter_ : EM iterations of each class's mixture.
    """

    def __init__(self, n_components=1, covariance_type="full", reg_covar=1e-6, max_iter=100, random_state=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        self.class_log_prior_ = np.log(counts / counts.sum())
        rng = check_random_state(self.random_state)
        self.mixtures_ = []
        for k, count in enumerate(counts):
            mixture = GaussianMixture(
                n_components=min(self.n_components, int(count)),
                covariance_type=self.covariance_type,
                reg_covar=self.reg_covar,
                max_iter=self.max_iter,
                random_state=rng.randint(np.iinfo(np.int32).max),
            )
            self.mixtures_.append(mixture.fit(X[codes == k]))
        self.n_iter_ = np.array([m.n_iter_ for m in self.mixtures_])
        return self

    def _joint_log_likelihood(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.column_stack([m.score_samples(X) for m in self.mixtures_]) + self.class_log_prior_

    def predict_log_proba(self, X):
        jll = self._joint_log_likelihood(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X):
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        best = np.argmax(self._joint_log_likelihood(X), axis=1)
        return self.classes_[best]


def _space(trial, profile) -> dict:
    # Full and tied covariances cost O(features^2) per component: offered on narrow data only.
    shapes = ["full", "tied", "diag", "spherical"] if profile.n_features <= 50 else ["diag", "spherical"]
    return {
        "n_components": trial.suggest_int("n_components", 1, 5),
        "covariance_type": trial.suggest_categorical("covariance_type", shapes),
        "reg_covar": trial.suggest_float("reg_covar", 1e-6, 1e-1, log=True),
    }


def _build(params, ctx: BuildContext):
    return GaussianMixtureClassifier(random_state=ctx.random_state, **with_resource(params, _FIDELITY))


GAUSSIAN_MIXTURE = ModelSpec(
    name="gaussian_mixture",
    tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    search_space=_space,
    build=_build,
    default_params=(
        {"n_components": 1, "covariance_type": "full", "reg_covar": 1e-6},
        {"n_components": 3, "covariance_type": "diag", "reg_covar": 1e-3},
    ),
    fidelity=_FIDELITY,
    needs_scaling=True,
    cost=0.3,
    description="Bayes classifier with one Gaussian mixture per class (QDA with one component).",
)


@hookimpl
def automl_register_models():
    return [GAUSSIAN_MIXTURE]


@hookimpl
def automl_register_types():
    """The classes its fitted models hold besides scikit-learn's (for the model file)."""
    return [GaussianMixtureClassifier]
