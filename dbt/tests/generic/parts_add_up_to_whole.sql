{#- For every additive indicator, the numerators and denominators of the lowest-level areas add up
    to those of their area on every level above and of the city (computed independently from the
    persons, not by summing areas). The levels come from the city profile
    (dbt/macros/area_levels.sql); `areas` is the model with each lowest-level area's parents
    (int_areas__hierarchy). Returns the rows where they do not add up. -#}
{% test parts_add_up_to_whole(model, catalogue, areas) %}
{%- set upper = (area_levels() | map(attribute='id') | list)[:-1] %}
with

values_ as (
    select v.*
    from {{ model }} as v
    inner join {{ catalogue }} as c using (indicator_id)
    where c.is_additive
),

lowest as (
    select v.indicator_id, v.reference_year, {{ upper_code_columns('a') }}{{ ', ' if upper }}v.numerator, v.denominator
    from values_ as v
    inner join {{ areas }} as a on a.{{ lowest_code() }} = v.area_code
    where v.area_level = '{{ lowest_level() }}'
),

summed as (
    {%- for level in upper %}
    select indicator_id, reference_year, '{{ level }}' as area_level, {{ level }}_code as area_code,
           sum(numerator) as numerator, sum(denominator) as denominator
    from lowest group by indicator_id, reference_year, {{ level }}_code
    union all
    {%- endfor %}
    select indicator_id, reference_year, 'city' as area_level, '{{ city_ags() }}' as area_code,
           sum(numerator) as numerator, sum(denominator) as denominator
    from lowest group by indicator_id, reference_year
)

select s.*, v.numerator as stated_numerator, v.denominator as stated_denominator
from summed as s
left join values_ as v
    on v.indicator_id = s.indicator_id and v.reference_year = s.reference_year
    and v.area_level = s.area_level and v.area_code = s.area_code
where v.indicator_id is null
   or abs(coalesce(s.numerator, 0) - coalesce(v.numerator, 0)) > 1e-9
   or abs(coalesce(s.denominator, 0) - coalesce(v.denominator, 0)) > 1e-9
{% endtest %}
