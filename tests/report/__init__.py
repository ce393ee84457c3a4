"""Tests of the report: forecast, charts and the three-month history they are checked on."""
