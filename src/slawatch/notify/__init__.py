"""Notifiers: alert records from sla.warnings and sla.breaches delivered to where people are paged.

`alertmanager` maps an alert payload to Alertmanager's API v2 and posts it; `book` remembers what
fires so it can be re-sent; `loop` consumes the topics and commits only what was delivered.
"""
