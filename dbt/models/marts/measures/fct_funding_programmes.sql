-- Funding per programme on the reference date (31 December of the latest population extract):
-- volume of the active measures, and the measures whose funding ends within 12 months.
with

measures as (
    select * from {{ ref('stg_planning__measures') }}
),

reference_date as (
    select make_date(max(reference_year), 12, 31) as reference_date
    from {{ ref('int_population__residents') }}
),

flagged as (
    select
        m.*,
        r.reference_date,
        m.starts_on <= r.reference_date and (m.ends_on is null or m.ends_on >= r.reference_date) as is_active,
        m.ends_on > r.reference_date
        and m.ends_on <= {{ months_after('r.reference_date', 12) }} as ends_within_12_months
    from measures as m
    cross join reference_date as r
)

select
    funding_programme,
    funder,
    any_value(reference_date) as reference_date,
    count(*) filter (where is_active) as active_measures,
    coalesce(sum(annual_budget_eur) filter (where is_active), 0) as annual_volume_eur,
    count(*) filter (where is_active and ends_within_12_months) as measures_ending_within_12_months,
    coalesce(sum(annual_budget_eur) filter (where is_active and ends_within_12_months), 0)
        as volume_ending_within_12_months_eur,
    {{ ordered_string_agg('measure_id', ', ', 'measure_id', where='is_active and ends_within_12_months') }}
        as measures_ending
from flagged
group by funding_programme, funder
