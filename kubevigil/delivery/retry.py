"""Backoff for failed sends: the process's one policy (core/backoff.py), re-exported where delivery has used it."""

from __future__ import annotations

from kubevigil.core.backoff import backoff_delay

__all__ = ["backoff_delay"]
