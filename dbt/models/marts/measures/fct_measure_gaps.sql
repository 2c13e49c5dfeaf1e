-- Angebotslücken: a district is in the quartile of highest need among the districts on the
-- field's need indicator, and no active measure of that field serves it (on 31 December of the
-- year). Which end of the indicator is high need comes from the catalogue (need_direction):
-- higher (a high SGB II rate), lower (a low share of residents at their address for 5+ years);
-- a neutral indicator ranks no district.
with

fields as (
    select
        f.*,
        c.need_direction
    from {{ ref('fields_of_action') }} as f
    left join {{ ref('indicator_catalogue') }} as c on f.need_indicator_id = c.indicator_id
),

need as (
    select
        f.field_of_action_id,
        f.need_indicator_id,
        v.reference_year,
        v.area_code as {{ lowest_code() }},
        v.indicator_value as need_value,
        -- districts with equal values are ordered by code, so that the quartile boundary falls
        -- the same way on every run and engine; bigint on both engines (Spark's ntile is int)
        case
            when f.need_direction in ('higher', 'lower') then
                cast(ntile(4) over (
                    partition by f.field_of_action_id, v.reference_year
                    order by
                        case when f.need_direction = 'lower' then v.indicator_value else -v.indicator_value end asc,
                        v.area_code asc
                ) as bigint)
        end as need_quartile
    from fields as f
    inner join {{ ref('fct_indicator_values') }} as v on f.need_indicator_id = v.indicator_id
    where v.area_level = '{{ lowest_level() }}' and v.indicator_value is not null
),

need_years as (
    select distinct reference_year from need
),

served as (
    select distinct
        d.field_of_action_id,
        d.{{ lowest_code() }},
        y.reference_year
    from {{ ref('int_planning__measure_districts') }} as d
    inner join need_years as y
        on
            d.starts_on <= make_date(y.reference_year, 12, 31)
            and (d.ends_on is null or d.ends_on >= make_date(y.reference_year, 12, 31))
)

select
    n.field_of_action_id,
    n.need_indicator_id,
    n.reference_year,
    n.{{ lowest_code() }},
    n.need_value,
    n.need_quartile,
    s.{{ lowest_code() }} is not null as is_served,
    coalesce(n.need_quartile = 1, false) and s.{{ lowest_code() }} is null as is_gap
from need as n
left join served as s using (field_of_action_id, {{ lowest_code() }}, reference_year)
