-- The area hierarchy: every level of the city profile (dbt/macros/area_levels.sql) and the city.
-- An upper area's centroid is the mean of its lowest-level areas' centroids, its area their sum.
{%- set levels = area_levels() | reverse | list %}
{%- set top = top_level() %}
with

hierarchy as (
    select * from {{ ref('int_areas__hierarchy') }}
),

{% for level in levels %}
    {{ level.id }} as (
        select
            '{{ level.id }}' as area_level,
            '{{ level.label_de }}' as area_level_label_de,
            {{ level.id }}_code as area_code,
            any_value({{ level.id }}_name) as area_name,
            any_value({{ top }}_code) as {{ top }}_code,
            any_value({{ top }}_name) as {{ top }}_name,
            {%- if loop.last %}
                'city' as parent_area_level,
                '{{ city_ags() }}' as parent_area_code,
            {%- else %}
                '{{ levels[loop.index].id }}' as parent_area_level,
                any_value({{ levels[loop.index].id }}_code) as parent_area_code,
            {%- endif %}
            avg(centroid_lat) as centroid_lat,
            avg(centroid_lon) as centroid_lon,
            sum(area_km2) as area_km2
        from hierarchy
        group by {{ level.id }}_code
    ),

{% endfor %}
city as (
    select
        'city' as area_level,
        'Gesamtstadt' as area_level_label_de,
        '{{ city_ags() }}' as area_code,
        '{{ city_name() }}' as area_name,
        cast(null as {{ dbt.type_string() }}) as {{ top }}_code,
        cast(null as {{ dbt.type_string() }}) as {{ top }}_name,
        cast(null as {{ dbt.type_string() }}) as parent_area_level,
        cast(null as {{ dbt.type_string() }}) as parent_area_code,
        avg(centroid_lat) as centroid_lat,
        avg(centroid_lon) as centroid_lon,
        sum(area_km2) as area_km2
    from hierarchy
)

{% for level in levels %}
    select * from {{ level.id }}
    union all
{% endfor %}
select * from city
