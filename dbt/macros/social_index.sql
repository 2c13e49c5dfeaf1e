{#-
  Social index after the method of Berlin's Monitoring Soziale Stadtentwicklung.

  relation          any relation with one row per area and period
  area_column       the area's id
  period_column     the period (z-values are computed within each period)
  residents_column  residents of the area; areas below min_residents are kept, not classified
  status_columns    status indicators (higher = more disadvantaged), e.g. ['s1', 's2', 's3']
  dynamics_columns  their changes (percentage points), e.g. ['d1', 'd2', 'd3']

  Each indicator is z-standardised across the classified areas of the period (mean 0, population
  standard deviation 1), the z-values are summed, and the sums are standardised again the same
  way. Status classes: hoch < -1, mittel -1..1, niedrig > 1..1.5, sehr niedrig > 1.5;
  dynamics classes: positiv < -1, stabil -1..1, negativ > 1.
-#}
{% macro zscore(column, period_column) -%}
    case when is_classified then
        ({{ column }} - avg(case when is_classified then {{ column }} end) over (partition by {{ period_column }}))
        / nullif(stddev_pop(case when is_classified then {{ column }} end) over (partition by {{ period_column }}), 0)
    end
{%- endmacro %}

{% macro social_index(relation, area_column, period_column, residents_column, status_columns,
                      dynamics_columns, min_residents=300) %}
with

base as (
    select
        *,
        {{ residents_column }} >= {{ min_residents }}
        {%- for column in status_columns + dynamics_columns %}
        and {{ column }} is not null
        {%- endfor %} as is_classified
    from {{ relation }}
),

standardised as (
    select
        *,
        {% for column in status_columns + dynamics_columns -%}
        {{ zscore(column, period_column) }} as z_{{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from base
),

summed as (
    select
        *,
        {% for column in status_columns %}z_{{ column }}{{ " + " if not loop.last }}{% endfor %} as status_sum,
        {% for column in dynamics_columns %}z_{{ column }}{{ " + " if not loop.last }}{% endfor %} as dynamics_sum
    from standardised
),

indexed as (
    select
        *,
        {{ zscore('status_sum', period_column) }} as status_index,
        {{ zscore('dynamics_sum', period_column) }} as dynamics_index
    from summed
)

select
    *,
    case
        when not is_classified then null
        when status_index < -1 then 'hoch'
        when status_index <= 1 then 'mittel'
        when status_index <= 1.5 then 'niedrig'
        else 'sehr niedrig'
    end as status_class,
    case
        when not is_classified then null
        when dynamics_index < -1 then 'positiv'
        when dynamics_index <= 1 then 'stabil'
        else 'negativ'
    end as dynamics_class
from indexed
{% endmacro %}
