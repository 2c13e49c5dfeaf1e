-- Wide profile for BI convenience: one row per area and year, one column per indicator value.

with

indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

areas as (
    select
        area_level,
        area_code,
        area_name,
        {{ top_level() }}_code,
        {{ top_level() }}_name
    from {{ ref('dim_area') }}
),

wide as (
    select
        area_level,
        area_code,
        reference_year,
        max(indicator_value) filter (where indicator_id = 'residents') as residents,
        max(indicator_value) filter (where indicator_id = 'share_under_18') as share_under_18,
        max(indicator_value) filter (where indicator_id = 'share_65_plus') as share_65_plus,
        max(indicator_value) filter (where indicator_id = 'youth_dependency_ratio') as youth_dependency_ratio,
        max(indicator_value) filter (where indicator_id = 'old_age_dependency_ratio') as old_age_dependency_ratio,
        max(indicator_value) filter (where indicator_id = 'share_foreign') as share_foreign,
        max(indicator_value) filter (where indicator_id = 'share_migration_background') as share_migration_background,
        max(indicator_value) filter (where indicator_id = 'share_eu2') as share_eu2,
        max(indicator_value) filter (
            where indicator_id = 'share_single_parent_households'
        ) as share_single_parent_households,
        max(indicator_value) filter (where indicator_id = 'population_change_pct') as population_change_pct,
        max(indicator_value) filter (where indicator_id = 'net_migration_rate') as net_migration_rate,
        max(indicator_value) filter (where indicator_id = 'mobility_rate') as mobility_rate,
        max(indicator_value) filter (where indicator_id = 'share_residence_5y') as share_residence_5y,
        max(indicator_value) filter (where indicator_id = 'sgb2_rate') as sgb2_rate,
        max(indicator_value) filter (where indicator_id = 'sgb2_child_rate') as sgb2_child_rate,
        max(indicator_value) filter (where indicator_id = 'elb_rate') as elb_rate,
        max(indicator_value) filter (where indicator_id = 'unemployment_sgb2_rate') as unemployment_sgb2_rate,
        max(indicator_value) filter (where indicator_id = 'grusi_old_age_rate') as grusi_old_age_rate,
        max(indicator_value) filter (where indicator_id = 'min_income_rate') as min_income_rate,
        max(indicator_value) filter (where indicator_id = 'eu2_sgb2_rate') as eu2_sgb2_rate
    from indicator_values
    group by all
)

select
    a.area_name,
    a.{{ top_level() }}_code,
    a.{{ top_level() }}_name,
    w.*
from wide as w
inner join areas as a using (area_level, area_code)
