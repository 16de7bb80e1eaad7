"""The web page at / on the one server port: one screen of the cluster's health, each panel also JSON under
/api/panels. Roles give their panel's data; this package draws it (server-side SVG, no third-party front end)."""

from kubevigil.web.page import routes
from kubevigil.web.process import Process

__all__ = ["Process", "routes"]
