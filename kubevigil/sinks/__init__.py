"""Outputs. One folder per sink: `params.py` (pydantic model) and `sink.py`; the table is in registry.py."""
