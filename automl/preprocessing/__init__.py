"""Stage 2, preprocessing: per-model-family column transformers, fitted inside the validation folds."""
