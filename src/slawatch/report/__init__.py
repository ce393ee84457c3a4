"""`slawatch report`: compliance reports, their charts and the demand forecast (the `report` extra)."""
