-- Households of residents on each reference date: adults and minors.
-- Incremental by reference year, like the residents it is built from.
{{ incremental_by_year_config() }}

with

residents as (
    select * from {{ ref('int_population__residents') }}
    {% if is_incremental() %}
        where reference_year in ({{ years_to_rebuild(
            'select distinct reference_year, source_file_sha256 from ' ~ ref('int_population__residents')
        ) }})
    {% endif %}
)

select
    reference_date,
    reference_year,
    household_key,
    {%- for level in area_levels() | reverse %}
        min({{ level.id }}_code) as {{ level.id }}_code,
    {%- endfor %}
    count(*) filter (where age >= 18) as n_adults,
    count(*) filter (where age < 18) as n_minors,
    any_value(source_file_sha256) as source_file_sha256
from residents
group by all
