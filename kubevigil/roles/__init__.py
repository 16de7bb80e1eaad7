"""The roles: status, events (and later checks, scrape, nurse)."""
