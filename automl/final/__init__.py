"""Stage 4, the final model: ensemble selection, stacking, latency trimming and averaged fold models."""
