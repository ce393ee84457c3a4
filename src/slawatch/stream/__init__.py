"""The Faust layer: wiring topics, tables, agents and views to the pure core and the edges."""
