"""The ingest edge: bytes from sla.events in; valid events, re-routes and dead letters out."""
