"""The status page (`slawatch ui`): server-rendered HTML from the compacted sla.status topic, for
people without Grafana. `feed` reads the topics, `store` keeps the present and a bounded history,
`render` and `charts` turn them into HTML and inline SVG, `server` answers on 127.0.0.1."""
