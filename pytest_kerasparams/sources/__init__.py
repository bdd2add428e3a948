"""Stored-count sources: each module reads one kind of stored figure (summaries, weight files, manifests, documents)."""
