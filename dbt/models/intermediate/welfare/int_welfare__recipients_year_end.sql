-- Welfare recipients on the reference date: the December delivery of each year, persons (rows),
-- each in the district of the delivery's STAT_BEZIRK.
with

areas as (
    select
        statistical_district_code,
        city_district_code
    from {{ ref('ref_statistical_districts') }}
),

sgb2 as (
    select
        period_year as reference_year,
        'sgb2' as register,
        statistical_district_code,
        age_at_year_end as age,
        nationality,
        benefit_status,
        is_unemployed,
        cast(null as integer) as chapter,
        cast(null as boolean) as in_institution
    from {{ ref('stg_welfare__sgb2') }}
    where period_month_number = 12
),

sgb12 as (
    select
        period_year as reference_year,
        'sgb12' as register,
        statistical_district_code,
        age_at_year_end as age,
        nationality,
        null as benefit_status,
        null as is_unemployed,
        chapter,
        in_institution
    from {{ ref('stg_welfare__sgb12') }}
    where period_month_number = 12
),

asylblg as (
    select
        period_year as reference_year,
        'asylblg' as register,
        statistical_district_code,
        age_at_year_end as age,
        nationality,
        null as benefit_status,
        null as is_unemployed,
        null as chapter,
        null as in_institution
    from {{ ref('stg_welfare__asylblg') }}
    where period_month_number = 12
),

recipients as (
    select * from sgb2
    union all
    select * from sgb12
    union all
    select * from asylblg
)

select
    r.*,
    a.city_district_code,
    r.nationality in ('125', '154') as is_eu2
from recipients as r
inner join areas as a using (statistical_district_code)
