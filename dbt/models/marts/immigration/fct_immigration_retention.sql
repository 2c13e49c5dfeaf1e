-- Verbleib (retention): of the distinct persons of a group who moved into the city from abroad in
-- year C (the cohort, by district of arrival), the share with main residence in the city on
-- 31 December of C+1, C+3 and C+5, matched by pseudonym in that year's extract.
with

arrivals as (
    select distinct
        m.movement_year as cohort_year,
        m.person_key,
        m.district_to_code as {{ lowest_code() }},
        coalesce(n.monitoring_group, 'SONSTIGE') as monitoring_group
    from {{ ref('stg_population__movements') }} as m
    left join {{ ref('ref_nationalities') }} as n on m.nationality_1 = n.nationality_code
    where m.event_type = 'ZUZUG_AUSLAND'
),

-- a person arriving twice in a year counts once, in the district of the first arrival
cohort as (
    select
        cohort_year,
        person_key,
        monitoring_group,
        min({{ lowest_code() }}) as {{ lowest_code() }}
    from arrivals
    group by all
),

residents as (
    select
        reference_year,
        person_key
    from {{ ref('int_population__residents') }}
),

extract_years as (
    select distinct reference_year from residents
),

horizons as (
    select 1 as years_after
    union all
    select 3
    union all
    select 5
),

followed as (
    select
        c.cohort_year,
        h.years_after,
        c.monitoring_group,
        c.{{ lowest_code() }},
        {{ upper_code_columns('a') }},
        r.person_key is not null as is_retained
    from cohort as c
    cross join horizons as h
    inner join extract_years as e on c.cohort_year + h.years_after = e.reference_year
    inner join {{ ref('int_areas__hierarchy') }} as a using ({{ lowest_code() }})
    left join residents as r
        on c.cohort_year + h.years_after = r.reference_year and c.person_key = r.person_key
)

select
    cohort_year,
    years_after,
    monitoring_group,
    {{ area_level_columns() }},
    cast(count(*) as double) as cohort_size,
    cast(count(*) filter (where is_retained) as double) as retained,
    100.0 * cast(count(*) filter (where is_retained) as double) / count(*) as retention_share
from followed
group by monitoring_group, years_after, {{ area_grouping_sets('cohort_year') }}
