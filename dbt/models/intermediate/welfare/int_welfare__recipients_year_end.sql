-- Welfare recipients on the reference date: the December delivery of each year, persons (rows),
-- each in the district of the delivery's STAT_BEZIRK.
-- Incremental by reference year: a year is rebuilt when one of its December deliveries is new or
-- re-delivered; any other month leaves this model as it is.
{{ incremental_by_year_config() }}

with

{% if is_incremental() %}
years_to_rebuild as (
    {{ years_to_rebuild(delivered_files(['sgb2', 'sgb12', 'asylblg'], "right(_period, 2) = '12'")) }}
),
{% endif %}

areas as (
    select {{ level_code_columns() }}
    from {{ ref('int_areas__hierarchy') }}
),

sgb2 as (
    select
        period_year as reference_year,
        'sgb2' as register,
        {{ lowest_code() }},
        age_at_year_end as age,
        nationality,
        benefit_status,
        is_unemployed,
        cast(null as integer) as chapter,
        cast(null as boolean) as in_institution,
        source_file_sha256
    from {{ ref('stg_welfare__sgb2') }}
    where period_month_number = 12
    {% if is_incremental() %}
        and period_year in (select reference_year from years_to_rebuild)
    {% endif %}
),

sgb12 as (
    select
        period_year as reference_year,
        'sgb12' as register,
        {{ lowest_code() }},
        age_at_year_end as age,
        nationality,
        null as benefit_status,
        null as is_unemployed,
        chapter,
        in_institution,
        source_file_sha256
    from {{ ref('stg_welfare__sgb12') }}
    where period_month_number = 12
    {% if is_incremental() %}
        and period_year in (select reference_year from years_to_rebuild)
    {% endif %}
),

asylblg as (
    select
        period_year as reference_year,
        'asylblg' as register,
        {{ lowest_code() }},
        age_at_year_end as age,
        nationality,
        null as benefit_status,
        null as is_unemployed,
        null as chapter,
        null as in_institution,
        source_file_sha256
    from {{ ref('stg_welfare__asylblg') }}
    where period_month_number = 12
    {% if is_incremental() %}
        and period_year in (select reference_year from years_to_rebuild)
    {% endif %}
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
    {{ upper_code_columns('a') }},
    r.nationality in ('125', '154') as is_eu2
from recipients as r
inner join areas as a using ({{ lowest_code() }})
