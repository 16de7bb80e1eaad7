"""Role `checks`: HealthCheck controller (the `checks` branch owns this module; the probes branch only adds the package)."""
