-- Residents (main residence) on each reference date, with the attributes the indicators need.
-- Incremental by reference year: only years with a new or re-delivered extract are rebuilt.
{{ incremental_by_year_config() }}

with

extract as (
    select * from {{ ref('stg_population__extract') }}
    where residence_status = 'H'
    {% if is_incremental() %}
        and reference_year in ({{ years_to_rebuild(delivered_files(['einwohner'])) }})
    {% endif %}
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

persons as (
    select
        e.*,
        {{ upper_code_columns('a') }},
        -- foreign: neither nationality is German (000)
        (e.nationality_1 <> '000' and coalesce(e.nationality_2, '') <> '000') as is_foreign
    from extract as e
    inner join areas as a using ({{ lowest_code() }})
),

own_background as (
    select
        *,
        is_foreign
        -- a German with a second nationality
        or (nationality_2 is not null and nationality_2 <> nationality_1)
        or birth_country <> '000' as has_own_migration_background
    from persons
),

household_adults as (
    select
        reference_date,
        household_key,
        bool_or(has_own_migration_background) as has_adult_with_background
    from own_background
    where age >= 18
    group by all
)

select
    p.reference_date,
    p.reference_year,
    p.person_key,
    p.household_key,
    p.age,
    p.sex,
    p.nationality_1,
    {{ level_code_columns('p') }},
    p.is_foreign,
    p.is_foreign and p.nationality_1 in ('125', '154') as is_eu2,
    case when p.is_foreign then coalesce(n.monitoring_group, 'SONSTIGE') else 'DEUTSCH' end as monitoring_group,
    p.has_own_migration_background
    or (p.age < 18 and coalesce(h.has_adult_with_background, false)) as has_migration_background,
    p.moved_into_dwelling_on <= {{ months_after('p.reference_date', -60) }} as lived_in_dwelling_5y,
    p.moved_into_city_on,
    p.source_file_sha256
from own_background as p
left join household_adults as h using (reference_date, household_key)
left join nationalities as n on p.nationality_1 = n.nationality_code
