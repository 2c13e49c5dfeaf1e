-- Goal achievement: per goal and year from the baseline year on, the actual value, the
-- progress (actual - baseline) / (target - baseline) x 100 and a status: erreicht (progress at
-- least 100), auf Kurs (progress at least the share of the period elapsed minus the tolerance),
-- gefährdet, keine Daten. The baseline is the indicator's value in the baseline year where the
-- warehouse has it (so that it equals the published value); the value the council decided on
-- stays beside it (baseline_value_decided) and is the baseline where the data has no such year.
with

indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

goals as (
    select
        g.goal_id,
        g.field_of_action_id,
        g.goal_text_de,
        g.indicator_id,
        g.area_level,
        g.area_code,
        g.baseline_year,
        coalesce(b.indicator_value, g.baseline_value) as baseline_value,
        g.baseline_value as baseline_value_decided,
        g.target_year,
        g.target_value,
        g.tolerance_pp,
        g.is_example
    from {{ ref('goals') }} as g
    left join indicator_values as b
        on
            g.indicator_id = b.indicator_id
            and g.area_level = b.area_level
            and g.area_code = b.area_code
            and g.baseline_year = b.reference_year
),

fields as (
    select * from {{ ref('fields_of_action') }}
),

years as (
    select distinct reference_year from indicator_values
),

goal_years as (
    select
        g.*,
        y.reference_year
    from goals as g
    inner join years as y on g.baseline_year < y.reference_year
),

measured as (
    select
        gy.*,
        v.indicator_value as actual_value,
        100.0 * (v.indicator_value - gy.baseline_value) / nullif(gy.target_value - gy.baseline_value, 0)
            as progress_pct,
        100.0 * cast(least(gy.reference_year - gy.baseline_year, gy.target_year - gy.baseline_year) as double)
        / nullif(gy.target_year - gy.baseline_year, 0) as period_elapsed_pct
    from goal_years as gy
    left join indicator_values as v
        on
            gy.indicator_id = v.indicator_id
            and gy.area_level = v.area_level
            and gy.area_code = v.area_code
            and gy.reference_year = v.reference_year
)

select
    m.goal_id,
    m.field_of_action_id,
    f.field_of_action_de,
    m.goal_text_de,
    m.indicator_id,
    m.area_level,
    m.area_code,
    m.baseline_year,
    m.baseline_value,
    m.baseline_value_decided,
    m.target_year,
    m.target_value,
    m.reference_year,
    m.actual_value,
    m.progress_pct,
    m.period_elapsed_pct,
    case
        when m.actual_value is null then 'keine Daten'
        when m.progress_pct >= 100 then 'erreicht'
        when m.progress_pct >= m.period_elapsed_pct - m.tolerance_pp then 'auf Kurs'
        else 'gefährdet'
    end as goal_status,
    m.is_example
from measured as m
inner join fields as f using (field_of_action_id)
