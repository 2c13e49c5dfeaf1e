{#- The three area levels every indicator is computed for. A query that groups persons
    `group by {{ area_grouping_sets('reference_year') }}` gets the statistical district, the
    city district and the city in one pass (a rollup over the hierarchy);
    `area_level_columns()` names the level and code of each row. -#}

{% macro area_grouping_sets(year_column) -%}
{{ year_column }}, rollup (city_district_code, statistical_district_code)
{%- endmacro %}

{% macro area_level_columns() -%}
case
    when grouping(statistical_district_code) = 0 then 'statistical_district'
    when grouping(city_district_code) = 0 then 'city_district'
    else 'city'
end as area_level,
case
    when grouping(statistical_district_code) = 0 then statistical_district_code
    when grouping(city_district_code) = 0 then city_district_code
    else '{{ var("city_ags") }}'
end as area_code
{%- endmacro %}
