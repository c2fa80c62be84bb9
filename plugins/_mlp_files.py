"""The PyTorch MLP in a model file, without pickle: its parameters and fitted attributes
as JSON and its network's weights (``state_dict``, on the CPU) as a torch file that loads
with ``torch.load(..., weights_only=True, map_location="cpu")``, so a model trained on a
GPU loads on a machine without one. torch is imported inside the functions."""

from __future__ import annotations

import io
import json

from automl import decode_plain, encode_plain

TYPES = ("automl_plugins.mlp_estimator.TorchMLPClassifier", "automl_plugins.mlp_estimator.TorchMLPRegressor")


def dump_mlp(model) -> dict[str, bytes]:
    import torch

    state = {k: v for k, v in vars(model).items() if k not in ("module_", "optimizer_")}  # no live torch objects
    files = {"estimator.json": json.dumps(encode_plain(state), allow_nan=False).encode()}
    if "module_" in vars(model):
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in model.module_.state_dict().items()}, buffer)
        files["weights.pt"] = buffer.getvalue()
    return files


def load_mlp(name: str, files) -> object:
    import torch

    from automl_plugins import mlp_estimator

    model = getattr(mlp_estimator, name.rpartition(".")[2])()
    state = decode_plain(json.loads(files["estimator.json"]))
    if not isinstance(state, dict):
        raise ValueError("the estimator's attributes are not a JSON object")
    vars(model).update(state)
    if "weights.pt" in files:
        weights = torch.load(io.BytesIO(files["weights.pt"]), map_location="cpu", weights_only=True)
        with torch.random.fork_rng(devices=[]):  # building the network draws initial weights
            model.module_ = mlp_estimator.network(**model.architecture_)
        model.module_.load_state_dict(weights)
        model.module_.eval()
    return model
