"""The status page's stylesheet, inlined in every page (one request per page, nothing to serve)."""

CSS = """
:root { --ok: #1a7f37; --warn: #b58100; --low: #d1570f; --bad: #cf222e; --none: #8c959f; --ink: #1f2328;
        --muted: #59636e; --line: #d0d7de; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0; background: #fff; }
header { padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--bg);
         display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap; }
header h1 { font-size: 20px; margin: 0; }
header h1 a { color: inherit; text-decoration: none; }
.meta { color: var(--muted); margin: 0; }
main { padding: 16px 24px 32px; }
a { color: var(--accent); }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; margin: 0 0 16px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.tile b { display: block; font-size: 22px; }
.tile > span { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile.alarm { border-color: var(--bad); } .tile.alarm b { color: var(--bad); }
form.filters { display: flex; gap: 12px; align-items: center; margin: 0 0 12px; flex-wrap: wrap; }
form.filters select, form.filters button { font: inherit; padding: 3px 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.firing td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
td.name, td.burn, td.alerts { white-space: nowrap; }
tr.stale { color: var(--muted); }
.bad { color: var(--bad); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; }
.muted { color: var(--muted); }
.budget { display: flex; align-items: center; gap: 8px; min-width: 190px; }
.bar { flex: 1; height: 10px; background: #eaeef2; border-radius: 5px; overflow: hidden; min-width: 100px; }
.bar span { display: block; height: 100%; }
.bar.exhausted { box-shadow: inset 0 0 0 1px var(--bad); }
.b-ok { background: var(--ok); } .b-warn { background: var(--warn); } .b-low { background: var(--low); }
.b-bad { background: var(--bad); } .b-none { background: var(--none); }
.budget .num { width: 58px; text-align: right; font-variant-numeric: tabular-nums; }
.sev { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; margin-right: 3px;
       color: #fff; background: var(--none); }
.sev-page, .sev-breach { background: var(--bad); } .sev-ticket { background: var(--low); }
.sev-warning { background: var(--warn); }
.ok-text { color: var(--ok); }
h2 { font-size: 16px; margin: 24px 0 8px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 14px; }
.spans { margin: 0 0 8px; color: var(--muted); } .spans b { color: var(--ink); }
h2.slo-title { font-size: 22px; margin: 8px 0 12px; }
svg.chart { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg .plot { fill: #fff; stroke: var(--line); } svg .grid { stroke: #eaeef2; }
svg .tick, svg .legend { font-size: 11px; fill: var(--muted); } svg .title { font-size: 13px; font-weight: 600; fill: var(--ink); }
svg .empty { font-size: 14px; fill: var(--muted); }
svg .line { fill: none; stroke-width: 2; } svg .guide { stroke-width: 1.2; stroke-dasharray: 5 4; }
svg text.guide-label { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .s-attain { stroke: #0969da; fill: #0969da; } svg .s-recent { stroke: #8250df; fill: #8250df; }
svg .s-budget { stroke: #1a7f37; fill: #1a7f37; } svg .s-burn { stroke: #d1570f; fill: #d1570f; }
svg .line.s-attain, svg .line.s-recent, svg .line.s-budget, svg .line.s-burn { fill: none; }
svg .g-objective { stroke: var(--bad); fill: var(--bad); } svg .g-zero { stroke: var(--ink); fill: var(--ink); }
svg .g-one { stroke: var(--bad); fill: var(--bad); }
.empty-state { padding: 24px; border: 1px dashed var(--line); border-radius: 6px; color: var(--muted); }
"""
