"""The pure domain core: what an SLO is and how its events are counted, judged and alerted on.

No Kafka, Faust, I/O or clock reads here: time is always a parameter, so replay, the live worker
and the property tests (tests/core, against brute-force references in tests/) see the same code.

- model, durations, calendar: the catalogue's SLOs, services and windows as frozen records
- event, matching: a service event, and which SLOs (and group) it counts for
- ring, sketch, plan, slo_state, finalizer: event-time counting (bucket rings, latency sketches),
  where an SLO's counts live, per SLO and group, and what is kept once it leaves the fine level
- evaluate, exclusions: SLIs, budgets and attainment over windows and calendar periods
- policies, quiet, alerts, alert_windows: burn-rate and budget conditions, when a decision can
  change, and the alert lifecycle (open, update, resolve)
- snapshot, definition, relayout: state bytes for checkpoints, and carrying state across edits
"""
