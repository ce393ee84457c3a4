"""What every slawatch dashboard shares: the datasource variable, query and panel shorthands,
and the PromQL that joins the SLO gauges with slawatch_slo_info (service, objective, window).

Every metric name comes from slawatch.conventions, so a rename breaks the build, not a panel.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm
from grafana_foundation_sdk.models.common import DataSourceRef

from slawatch import conventions as cv

DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["slawatch"]
RATE = "$__rate_interval"

# One series per (slo, catalogue labels): `max by` folds the copies two workers export mid-rebalance.
INFO_BY = "slo, service, objective, window, sli, owner, tier"


def info(selector: str = 'service=~"$service", slo=~"$slo"') -> str:
    return f"max by ({INFO_BY}) ({cv.METRIC_SLO_INFO}{{{selector}}})"


def primary_period(metric: str, selector: str = 'service=~"$service", slo=~"$slo"') -> str:
    """`metric` (labelled period) for each SLO's primary window only: joined on the info's window."""
    return f'{metric} * on(slo, period) group_left() label_replace({info(selector)}, "period", "$1", "window", "(.*)")'


def primary_window(metric: str, selector: str = 'service=~"$service", slo=~"$slo"') -> str:
    """`metric` (labelled window) over each SLO's primary window only."""
    return f"{metric} * on(slo, window) group_left() {info(selector)}"


def for_listed_slos(metric: str) -> str:
    """`metric` restricted to the SLOs the service/slo variables select (the gauges carry no service)."""
    return f"{metric} * on(slo) group_left() {info()}"


def datasource_variable() -> dashboard.DatasourceVariable:
    return dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def query_variable(name: str, query: str, label: str, multi: bool = True) -> dashboard.QueryVariable:
    variable = (dashboard.QueryVariable(name).label(label).datasource(DS).query(query)
                .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC))
    return variable.multi(True).include_all(True).all_value(".*") if multi else variable


def query(expr: str, legend: str = "", ref: str = "A", instant: bool = False, as_table: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().ref_id(ref).expr(expr)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    return q.format(pm.PromQueryFormat.TABLE) if as_table else q


def steps(*pairs: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(
        [dm.Threshold(value=value, color=color) for value, color in pairs])


# Budget left: red once exhausted, then orange, yellow, green (Sloth's and Pyrra's colours).
BUDGET_STEPS = ((None, "red"), (0.0, "orange"), (0.25, "yellow"), (0.5, "green"))
# Burn rate: 1 spends the budget exactly over the window; 6 and 14.4 are the workbook's page factors.
BURN_STEPS = ((None, "green"), (1.0, "yellow"), (6.0, "orange"), (14.4, "red"))
FIRING_STEPS = ((None, "green"), (1.0, "red"))
DASHED = dm.DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]})


def legend() -> cb.VizLegendOptions:
    return cb.VizLegendOptions().show_legend(True).display_mode(cm.LegendDisplayMode.LIST).placement(cm.LegendPlacement.BOTTOM)


def graph(title: str, description: str, unit: str, *targets: prometheus.Dataquery, height: int = 8,
          width: int = 12) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).description(description).datasource(DS).unit(unit)
             .height(height).span(width).legend(legend()).line_width(1).fill_opacity(10))
    for target in targets:
        panel = panel.with_target(target)
    return panel


def big_number(title: str, description: str, unit: str, target: prometheus.Dataquery, thresholds=None,
               width: int = 4) -> stat.Panel:
    panel = (stat.Panel().title(title).description(description).datasource(DS).unit(unit).height(4).span(width)
             .graph_mode(cm.BigValueGraphMode.NONE).color_mode(cm.BigValueColorMode.VALUE)
             .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
             .with_target(target.instant()))
    return panel.thresholds(steps(*thresholds)) if thresholds else panel.thresholds(steps((None, "blue")))


def grid(title: str, description: str, *targets: prometheus.Dataquery, height: int = 8, width: int = 24) -> table.Panel:
    panel = table.Panel().title(title).description(description).datasource(DS).height(height).span(width)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def merge_columns(names: dict[str, str], order: list[str], hidden: tuple[str, ...] = ("Time",),
                  sort_by: str | None = None) -> list[dm.DataTransformerConfig]:
    """Instant table queries merged into one row per label set; `names` renames 'Value #A' etc."""
    transformations = [
        dm.DataTransformerConfig(id_val="merge", options={}),
        dm.DataTransformerConfig(id_val="organize", options={
            "excludeByName": {name: True for name in hidden},
            "renameByName": names,
            "indexByName": {name: i for i, name in enumerate(order)},
        }),
    ]
    if sort_by:
        transformations.append(dm.DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": sort_by, "desc": False}]}))
    return transformations


def dashed_thresholds() -> cb.GraphThresholdsStyleConfig:
    return cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)


def column(unit: str | None = None, thresholds=None, background: bool = False, decimals: int | None = None) -> list:
    props = []
    if unit:
        props.append(dm.DynamicConfigValue(id_val="unit", value=unit))
    if decimals is not None:
        props.append(dm.DynamicConfigValue(id_val="decimals", value=decimals))
    if thresholds:
        props.append(dm.DynamicConfigValue(id_val="thresholds", value={
            "mode": "absolute", "steps": [{"value": v, "color": c} for v, c in thresholds]}))
        mode = "color-background" if background else "color-text"
        props.append(dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": mode}))
    return props


FIRING_MAPPINGS = [dm.ValueMap(options={"0": dm.ValueMappingResult(text="OK", color="green", index=0),
                                        "1": dm.ValueMappingResult(text="FIRING", color="red", index=1)})]


def board(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (dashboard.Dashboard(title).uid(uid).description(description).tags(TAGS).refresh("30s")
            .time("now-6h", "now").timezone("browser").tooltip(dm.DashboardCursorSync.CROSSHAIR)
            .with_variable(datasource_variable()))


def numbered(model: dm.Dashboard) -> dm.Dashboard:
    """Stable panel ids (1, 2, ...) in layout order, so links to a panel survive a rebuild."""
    for index, panel in enumerate(model.panels or [], start=1):
        panel.id_val = index
    return model
