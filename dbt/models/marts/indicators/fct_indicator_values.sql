-- All indicators of the catalogue, long: one row per indicator, area level, area and reference year,
-- with numerator and denominator kept so that a rate can be re-aggregated and checked.
{%- set indicators = {
    'residents': ('residents', 'null'),
    'share_under_18': ('residents_0_17', 'residents'),
    'share_65_plus': ('residents_65_plus', 'residents'),
    'youth_dependency_ratio': ('residents_0_17', 'residents_18_64'),
    'old_age_dependency_ratio': ('residents_65_plus', 'residents_18_64'),
    'share_foreign': ('residents_foreign', 'residents'),
    'share_migration_background': ('residents_migration_background', 'residents'),
    'share_eu2': ('residents_eu2', 'residents'),
    'share_single_parent_households': ('households_single_parent', 'households_with_minors'),
    'population_change_pct': ('residents - residents_previous_year', 'residents_previous_year'),
    'net_migration_rate': ('moves_in - moves_out', 'residents'),
    'mobility_rate': ('moves_in + moves_out', 'residents'),
    'share_residence_5y': ('residents_dwelling_5y', 'residents'),
    'sgb2_rate': ('sgb2_under_65', 'residents_under_65'),
    'sgb2_child_rate': ('sgb2_0_14', 'residents_0_14'),
    'elb_rate': ('elb_15_64', 'residents_15_64'),
    'unemployment_sgb2_rate': ('sgb2_unemployed', 'residents_15_64'),
    'grusi_old_age_rate': ('sgb12_ch4_65_plus_outside', 'residents_65_plus'),
    'min_income_rate': ('sgb2_all + sgb12_ch3_ch4_outside + asylblg_all', 'residents'),
    'eu2_sgb2_rate': ('sgb2_eu2_under_65', 'residents_eu2_under_65'),
} %}

with

counts as (
    select * from {{ ref('int_indicators__base_counts') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

breaks as (
    select
        affected_indicator_id as indicator_id,
        year(break_date) as reference_year,
        {{ ordered_string_agg('break_id', ', ', 'break_id') }} as time_series_break_ids,
        {{ ordered_string_agg('description_de', ' | ', 'break_id') }} as time_series_break_de
    from {{ ref('time_series_breaks') }}
    group by all
),

stacked as (
    {{ stack_measures('counts', 'indicator_id', ['area_level', 'area_code', 'reference_year'], indicators) }}
)

select
    l.indicator_id,
    l.area_level,
    l.area_code,
    l.reference_year,
    l.numerator,
    l.denominator,
    {{ rate_value('l.numerator', 'l.denominator', 'c.multiplier') }} as indicator_value,
    c.unit,
    b.time_series_break_ids,
    b.time_series_break_de
from stacked as l
inner join catalogue as c using (indicator_id)
left join breaks as b using (indicator_id, reference_year)
