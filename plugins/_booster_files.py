"""LightGBM and XGBoost models in a model file, without pickle.

The booster is stored in its library's own format (LightGBM's model text, XGBoost's
JSON) and the scikit-learn wrapper's parameters and fitted attributes as JSON; loading
builds a fresh wrapper, sets those attributes and loads the booster from its text.
Training callbacks (XGBoost's time limit) are not stored: they only act while fitting.
The libraries are imported inside the functions, so this module loads without them.
"""

from __future__ import annotations

import json

from automl import decode_plain, encode_plain

LIGHTGBM_TYPES = ("lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor")
XGBOOST_TYPES = ("xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor")


def _wrapper(model, drop: set[str], **replace) -> bytes:
    state = {k: v for k, v in vars(model).items() if k not in drop} | replace
    return json.dumps(encode_plain(state), allow_nan=False).encode()


def _state(data: bytes) -> dict:
    state = decode_plain(json.loads(data))
    if not isinstance(state, dict):
        raise ValueError("the wrapper's attributes are not a JSON object")
    return state


def dump_lightgbm(model) -> dict[str, bytes]:
    return {
        "booster.txt": model.booster_.model_to_string(num_iteration=-1).encode(),
        "wrapper.json": _wrapper(model, {"_Booster", "_le"}),  # the label encoder is rebuilt from _classes
    }


def load_lightgbm(name: str, files) -> object:
    import lightgbm
    from sklearn.preprocessing import LabelEncoder

    model = getattr(lightgbm, name.rpartition(".")[2])()
    vars(model).update(_state(files["wrapper.json"]))
    model._Booster = lightgbm.Booster(model_str=files["booster.txt"].decode())
    if getattr(model, "_classes", None) is not None:
        model._le = LabelEncoder().fit(model._classes)
    return model


def dump_xgboost(model) -> dict[str, bytes]:
    return {
        "booster.json": bytes(model.get_booster().save_raw(raw_format="json")),
        "wrapper.json": _wrapper(model, {"_Booster"}, callbacks=None),
    }


def load_xgboost(name: str, files) -> object:
    import xgboost

    model = getattr(xgboost, name.rpartition(".")[2])()
    vars(model).update(_state(files["wrapper.json"]))
    booster = xgboost.Booster()
    booster.load_model(bytearray(files["booster.json"]))
    model._Booster = booster
    return model
