-- One row per area of the lowest level with the code and name of its area on every level above
-- (the levels come from the city profile: dbt/macros/area_levels.sql), its centroid and its area.
{%- set levels = area_levels() | reverse | list %}
with

areas as (
    select * from {{ ref('ref_areas') }}
)

select
    {%- for level in levels %}
        l{{ loop.index }}.area_code as {{ level.id }}_code,
        l{{ loop.index }}.area_name as {{ level.id }}_name,
    {%- endfor %}
    l1.centroid_lat,
    l1.centroid_lon,
    l1.area_km2
from
    areas as l1
    {%- for level in levels[1:] %}
    inner join areas as l{{ loop.index + 1 }}
        on
            l{{ loop.index + 1 }}.area_level = '{{ level.id }}'
            and l{{ loop.index + 1 }}.area_code = l{{ loop.index }}.parent_area_code
        {%- endfor %}
where l1.area_level = '{{ levels[0].id }}'
