"""Stage 5, inspection: permutation importances and plain-language explanations of a fitted AutoML."""
