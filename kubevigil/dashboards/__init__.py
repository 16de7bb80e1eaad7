"""Dashboards built from a config: `kubevigil dashboards cloudwatch` (the Grafana ones live in deploy/monitoring/)."""
