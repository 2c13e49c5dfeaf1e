-- Doppelungen: two or more measures active on the reference date (31 December of the latest
-- population extract) with the same field of action, district and target group and overlapping
-- periods; one row per pair, with the period they share.
with

reference_date as (
    select make_date(max(reference_year), 12, 31) as reference_date
    from {{ ref('int_population__residents') }}
),

served as (
    select d.*
    from {{ ref('int_planning__measure_districts') }} as d
    cross join reference_date as r
    where d.starts_on <= r.reference_date and (d.ends_on is null or d.ends_on >= r.reference_date)
)

select
    a.field_of_action_id,
    a.{{ lowest_code() }},
    a.target_group,
    a.measure_id as measure_id_a,
    b.measure_id as measure_id_b,
    a.carrier as carrier_a,
    b.carrier as carrier_b,
    greatest(a.starts_on, b.starts_on) as overlap_starts_on,
    least(coalesce(a.ends_on, date '9999-12-31'), coalesce(b.ends_on, date '9999-12-31')) as overlap_ends_on
from served as a
inner join served as b
    on
        a.field_of_action_id = b.field_of_action_id
        and a.{{ lowest_code() }} = b.{{ lowest_code() }}
        and a.target_group = b.target_group
        and a.measure_id < b.measure_id
        and a.starts_on <= coalesce(b.ends_on, date '9999-12-31')
        and b.starts_on <= coalesce(a.ends_on, date '9999-12-31')
