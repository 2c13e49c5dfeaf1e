-- Households of residents on each reference date: adults and minors.
with

residents as (
    select * from {{ ref('int_population__residents') }}
)

select
    reference_date,
    reference_year,
    household_key,
    min(statistical_district_code) as statistical_district_code,
    min(city_district_code) as city_district_code,
    count(*) filter (where age >= 18) as n_adults,
    count(*) filter (where age < 18) as n_minors
from residents
group by all
