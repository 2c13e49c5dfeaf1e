{#- The column holds only the area levels of the city profile and city (dbt/macros/area_levels.sql). -#}
{% test accepted_area_levels(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in (
    {%- for level in area_levels() %}'{{ level.id }}', {% endfor %}'city'
)
{% endtest %}
