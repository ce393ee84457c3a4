"""slawatch's Grafana dashboards as code (grafana-foundation-sdk); build.py writes them as JSON."""
