-- Moves across the city boundary per nationality group, area of arrival/departure and year:
-- from/to abroad and from/to the rest of Germany (immigration monitoring).
with

movements as (
    select * from {{ ref('stg_population__movements') }}
    where event_type in ('ZUZUG_AUSLAND', 'ZUZUG_INLAND', 'FORTZUG_AUSLAND', 'FORTZUG_INLAND')
),

areas as (
    select {{ level_code_columns() }}
    from {{ ref('int_areas__hierarchy') }}
),

nationalities as (
    select
        nationality_code,
        monitoring_group
    from {{ ref('ref_nationalities') }}
),

classified as (
    select
        m.movement_year,
        m.event_type,
        coalesce(m.district_to_code, m.district_from_code) as {{ lowest_code() }},
        coalesce(n.monitoring_group, 'SONSTIGE') as monitoring_group
    from movements as m
    left join nationalities as n on m.nationality_1 = n.nationality_code
)

select
    c.movement_year,
    c.monitoring_group,
    {{ area_level_columns() }},
    count(*) filter (where c.event_type = 'ZUZUG_AUSLAND') as moves_in_abroad,
    count(*) filter (where c.event_type = 'FORTZUG_AUSLAND') as moves_out_abroad,
    count(*) filter (where c.event_type = 'ZUZUG_INLAND') as moves_in_germany,
    count(*) filter (where c.event_type = 'FORTZUG_INLAND') as moves_out_germany
from classified as c
inner join areas using ({{ lowest_code() }})
group by c.monitoring_group, {{ area_grouping_sets('c.movement_year') }}
