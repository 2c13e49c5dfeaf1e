{#- For every additive indicator, the numerators and denominators of the statistical districts
    add up to those of their city district and of the city (computed independently from the
    persons, not by summing districts). Returns the rows where they do not. -#}
{% test parts_add_up_to_whole(model, catalogue, areas) %}
with

values_ as (
    select v.*
    from {{ model }} as v
    inner join {{ catalogue }} as c using (indicator_id)
    where c.is_additive
),

districts as (
    select v.indicator_id, v.reference_year, a.city_district_code, v.numerator, v.denominator
    from values_ as v
    inner join {{ areas }} as a on a.area_level = 'statistical_district' and a.area_code = v.area_code
    where v.area_level = 'statistical_district'
),

by_city_district as (
    select indicator_id, reference_year, 'city_district' as area_level, city_district_code as area_code,
           sum(numerator) as numerator, sum(denominator) as denominator
    from districts group by all
),

by_city as (
    select indicator_id, reference_year, 'city' as area_level, '{{ var("city_ags") }}' as area_code,
           sum(numerator) as numerator, sum(denominator) as denominator
    from districts group by all
),

summed as (
    select * from by_city_district
    union all
    select * from by_city
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
