"""Durable, batched, retried delivery from roles to sinks: one sqlite-journaled queue per sink."""

from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.outlet import Outlet
from kubevigil.delivery.settings import DeliveryParams

__all__ = ["Delivery", "DeliveryParams", "Outlet"]
