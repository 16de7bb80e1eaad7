"""Durable, batched, retried delivery from roles to sinks: one sqlite-journaled queue per sink.

Import from the modules (`kubevigil.delivery.delivery.Delivery`); this package imports nothing so that
`kubevigil.roles.role` can import `kubevigil.delivery.outlet` without a cycle.
"""
