{#- Every (area_level, area_code) of the model is an area of dim_area. -#}
{% test relationships_combination_to_area(model, areas) %}
select distinct m.area_level, m.area_code
from {{ model }} as m
left join {{ areas }} as a using (area_level, area_code)
where a.area_code is null
{% endtest %}
