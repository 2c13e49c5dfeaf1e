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
        'city_district',
        'Stadtbezirk',
        city_district_code,
        any_value(city_district_name),
        city_district_code,
        any_value(city_district_name),
        'city',
        '{{ var("city_ags") }}',
        avg(centroid_lat),
        avg(centroid_lon),
        sum(area_km2)
    from districts
    group by city_district_code
),

city as (
    select
        'city', 'Gesamtstadt', '{{ var("city_ags") }}', '{{ var("city_name") }}',
        cast(null as varchar), cast(null as varchar), cast(null as varchar), cast(null as varchar),
        avg(centroid_lat), avg(centroid_lon), sum(area_km2)
    from districts
)

select * from statistical_districts
union all
select * from city_districts
union all
select * from city
