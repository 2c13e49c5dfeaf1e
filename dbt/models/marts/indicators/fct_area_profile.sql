-- Wide profile for BI convenience: one row per area and year, one column per indicator value.
{%- set indicator_ids = [
    'residents', 'share_under_18', 'share_65_plus', 'youth_dependency_ratio',
    'old_age_dependency_ratio', 'share_foreign', 'share_migration_background', 'share_eu2',
    'share_single_parent_households', 'population_change_pct', 'net_migration_rate',
    'mobility_rate', 'share_residence_5y', 'sgb2_rate', 'sgb2_child_rate', 'elb_rate',
    'unemployment_sgb2_rate', 'grusi_old_age_rate', 'min_income_rate', 'eu2_sgb2_rate',
] %}

with

indicator_values as (
    select * from {{ ref('fct_indicator_values') }}
),

areas as (
    select area_level, area_code, area_name, city_district_code, city_district_name
    from {{ ref('dim_area') }}
),

wide as (
    select
        area_level,
        area_code,
        reference_year,
        {% for indicator_id in indicator_ids -%}
        max(value) filter (where indicator_id = '{{ indicator_id }}') as {{ indicator_id }}{{ "," if not loop.last }}
        {% endfor %}
    from indicator_values
    group by all
)

select
    w.area_level,
    w.area_code,
    a.area_name,
    a.city_district_code,
    a.city_district_name,
    w.reference_year,
    {% for indicator_id in indicator_ids -%}
    w.{{ indicator_id }}{{ "," if not loop.last }}
    {% endfor %}
from wide as w
inner join areas as a using (area_level, area_code)
