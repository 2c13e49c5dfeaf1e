-- One row per measure and lowest-level area it serves (GESAMTSTADT: every area), with the
-- measure's budget shared equally among its areas.
with

measures as (
    select * from {{ ref('stg_planning__measures') }}
),

districts as (
    select {{ lowest_code() }} from {{ ref('int_areas__hierarchy') }}
),

served as (
    select
        m.measure_id,
        d.{{ lowest_code() }}
    from measures as m
    inner join districts as d
        on
            m.districts_served = 'GESAMTSTADT'
            or {{ in_comma_list('d.' ~ lowest_code(), 'm.districts_served') }}
)

select
    m.measure_id,
    m.title,
    m.field_of_action_id,
    m.carrier,
    m.funding_programme,
    m.funder,
    m.target_group,
    m.districts_served,
    m.starts_on,
    m.ends_on,
    m.annual_budget_eur,
    s.{{ lowest_code() }},
    m.annual_budget_eur / count(*) over (partition by m.measure_id) as budget_share_eur
from served as s
inner join measures as m using (measure_id)
