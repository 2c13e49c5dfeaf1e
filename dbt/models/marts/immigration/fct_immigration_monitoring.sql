-- Monitoring Neuzuwanderung: per nationality group, area and year, long like the
-- indicator fact: numerator, denominator and value of each measure.
with

residents as (
    select * from {{ ref('int_population__residents') }}
),

nationalities as (
    select
        nationality_code,
        monitoring_group
    from {{ ref('ref_nationalities') }}
),

recipients as (
    select
        r.*,
        coalesce(n.monitoring_group, 'SONSTIGE') as monitoring_group
    from {{ ref('int_welfare__recipients_year_end') }} as r
    left join nationalities as n on r.nationality = n.nationality_code
    where r.register = 'sgb2'
),

moves as (
    select * from {{ ref('int_population__movements_by_group') }}
),

groups as (
    select distinct monitoring_group from nationalities
),

years as (
    select distinct reference_year from residents
),

movement_years as (
    select distinct movement_year from {{ ref('stg_population__movements') }}
),

sgb2_years as (
    select distinct reference_year from recipients
),

spine as (
    select
        y.reference_year,
        g.monitoring_group,
        a.area_level,
        a.area_code
    from years as y
    cross join groups as g
    cross join {{ ref('dim_area') }} as a
),

stock as (
    select
        reference_year,
        monitoring_group,
        {{ area_level_columns() }},
        count(*) as residents,
        count(*) filter (where age < 18) as minors,
        count(*) filter (where age between 6 and 17) as school_age,
        count(*) filter (where age < 65) as residents_under_65
    from residents
    group by monitoring_group, {{ area_grouping_sets('reference_year') }}
),

sgb2 as (
    select
        reference_year,
        monitoring_group,
        {{ area_level_columns() }},
        count(*) filter (where age < 65) as sgb2_under_65
    from recipients
    group by monitoring_group, {{ area_grouping_sets('reference_year') }}
),

counts as (
    select
        s.reference_year,
        s.monitoring_group,
        s.area_level,
        s.area_code,
        coalesce(st.residents, 0) as residents,
        coalesce(st.minors, 0) as minors,
        coalesce(st.school_age, 0) as school_age,
        coalesce(st.residents_under_65, 0) as residents_under_65,
        case when py.reference_year is not null then coalesce(prev.residents, 0) end as residents_previous_year,
        case when my.movement_year is not null then coalesce(m.moves_in_abroad, 0) end as moves_in_abroad,
        case when my.movement_year is not null then coalesce(m.moves_out_abroad, 0) end as moves_out_abroad,
        case when my.movement_year is not null then coalesce(m.moves_in_germany, 0) end as moves_in_germany,
        case when my.movement_year is not null then coalesce(m.moves_out_germany, 0) end as moves_out_germany,
        case when sy.reference_year is not null then coalesce(w.sgb2_under_65, 0) end as sgb2_under_65
    from spine as s
    left join stock as st using (reference_year, monitoring_group, area_level, area_code)
    left join years as py on s.reference_year - 1 = py.reference_year
    left join stock as prev
        on
            s.reference_year - 1 = prev.reference_year
            and s.monitoring_group = prev.monitoring_group
            and s.area_level = prev.area_level
            and s.area_code = prev.area_code
    left join movement_years as my on s.reference_year = my.movement_year
    left join moves as m
        on
            s.reference_year = m.movement_year
            and s.monitoring_group = m.monitoring_group
            and s.area_level = m.area_level
            and s.area_code = m.area_code
    left join sgb2_years as sy on s.reference_year = sy.reference_year
    left join sgb2 as w using (reference_year, monitoring_group, area_level, area_code)
),

{%- set measures = {
    'stock': ('residents', 'null'),
    'stock_change': ('residents - residents_previous_year', 'null'),
    'moves_in_abroad': ('moves_in_abroad', 'null'),
    'moves_out_abroad': ('moves_out_abroad', 'null'),
    'moves_in_germany': ('moves_in_germany', 'null'),
    'moves_out_germany': ('moves_out_germany', 'null'),
    'net_migration': ('moves_in_abroad + moves_in_germany - moves_out_abroad - moves_out_germany', 'null'),
    'turnover_rate': (
        'moves_in_abroad + moves_in_germany + moves_out_abroad + moves_out_germany', 'residents'
    ),
    'share_minors': ('minors', 'residents'),
    'share_school_age': ('school_age', 'residents'),
    'sgb2_rate': ('sgb2_under_65', 'residents_under_65'),
} %}

stacked as (
    {{ stack_measures(
        'counts', 'measure_id', ['monitoring_group', 'area_level', 'area_code', 'reference_year'], measures
    ) }}
)

select
    measure_id,
    monitoring_group,
    area_level,
    area_code,
    reference_year,
    numerator,
    denominator,
    -- every rate here is per 100; counts have no denominator
    {{ rate_value('numerator', 'denominator', 100) }} as measure_value,
    -- the June 2022 Rechtskreiswechsel affects the SGB II rate of every group (Ukraine above all)
    case
        when measure_id = 'sgb2_rate' and reference_year = 2022 then 'rechtskreiswechsel_ukraine_2022'
    end as time_series_break_ids
from stacked
