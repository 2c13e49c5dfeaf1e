-- The area hierarchy: statistical districts, city districts and the city.
with

districts as (
    select * from {{ ref('ref_statistical_districts') }}
),

statistical_districts as (
    select
        'statistical_district' as area_level,
        'Statistischer Bezirk' as area_level_label_de,
        statistical_district_code as area_code,
        statistical_district_name as area_name,
        city_district_code,
        city_district_name,
        'city_district' as parent_area_level,
        city_district_code as parent_area_code,
        centroid_lat,
        centroid_lon,
        area_km2
    from districts
),

city_districts as (
    select
        'city_district' as area_level,
        'Stadtbezirk' as area_level_label_de,
        city_district_code as area_code,
        any_value(city_district_name) as area_name,
        city_district_code,
        any_value(city_district_name) as city_district_name,
        'city' as parent_area_level,
        '{{ var("city_ags") }}' as parent_area_code,
        avg(centroid_lat) as centroid_lat,
        avg(centroid_lon) as centroid_lon,
        sum(area_km2) as area_km2
    from districts
    group by city_district_code
),

city as (
    select
        'city' as area_level,
        'Gesamtstadt' as area_level_label_de,
        '{{ var("city_ags") }}' as area_code,
        '{{ var("city_name") }}' as area_name,
        cast(null as {{ dbt.type_string() }}) as city_district_code,
        cast(null as {{ dbt.type_string() }}) as city_district_name,
        cast(null as {{ dbt.type_string() }}) as parent_area_level,
        cast(null as {{ dbt.type_string() }}) as parent_area_code,
        avg(centroid_lat) as centroid_lat,
        avg(centroid_lon) as centroid_lon,
        sum(area_km2) as area_km2
    from districts
)

select * from statistical_districts
union all
select * from city_districts
union all
select * from city
