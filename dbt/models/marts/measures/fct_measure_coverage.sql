-- Coverage of measures per statistical district, field of action, target group and year: active
-- measures on 31 December and the budget per resident of the target group.
with

served as (
    select * from {{ ref('int_planning__measure_districts') }}
),

counts as (
    select * from {{ ref('int_indicators__base_counts') }}
    where area_level = '{{ lowest_level() }}'
),

target_residents as (
    {% set target_groups = {
        'ALLE': 'residents', 'KINDER_JUGENDLICHE': 'residents_0_17', 'FAMILIEN': 'households_with_minors',
        'SENIOREN': 'residents_65_plus', 'ZUGEWANDERTE': 'residents_foreign',
        'LEISTUNGSBEZIEHENDE': 'sgb2_all',
    } %}
    {% for group, column in target_groups.items() %}
        select
            reference_year,
            area_code as {{ lowest_code() }},
            '{{ group }}' as target_group,
            {{ column }} as target_group_size
        from counts
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

active as (
    select
        t.reference_year,
        t.{{ lowest_code() }},
        s.field_of_action_id,
        t.target_group,
        t.target_group_size,
        s.measure_id,
        s.budget_share_eur
    from target_residents as t
    inner join served as s
        on
            t.{{ lowest_code() }} = s.{{ lowest_code() }}
            and t.target_group = s.target_group
            and s.starts_on <= make_date(t.reference_year, 12, 31)
            and (s.ends_on is null or s.ends_on >= make_date(t.reference_year, 12, 31))
)

select
    reference_year,
    {{ lowest_code() }},
    field_of_action_id,
    target_group,
    count(*) as active_measures,
    sum(budget_share_eur) as budget_eur,
    cast(any_value(target_group_size) as double) as target_group_size,
    sum(budget_share_eur) / nullif(any_value(target_group_size), 0) as budget_per_target_resident_eur
from active
group by all
