"""The neutral bottom layer: value types, clock, logs, readiness, the base config model, templating.

Modules here import nothing from the rest of kubevigil.
"""
