"""Stage 1, the data: input checks, table reading, task detection and the column profile."""
