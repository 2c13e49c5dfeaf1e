{#- The city and its area levels, from the city profile (cities/<name>/city.yml; the pipeline sets
    the DFT_CITY_* variables: dagster_project/city_profile.py). No model names a level itself:
    they ask these macros.

    area_levels()            the levels below the city, from the top down (list of {id, label_de})
    lowest_level()           the id of the lowest level, the one the registers name
    lowest_code()            the column of a lowest-level area's code, <level id>_code
    top_level()              the id of the level just below the city
    level_code_columns(alias) every level's code column, top down ("a.x_code, a.y_code")
    area_grouping_sets(year) group by the year and a rollup over the hierarchy: every level and the
                             city in one pass
    area_level_columns()     area_level and area_code of each row of that rollup -#}

{% macro city_ags() -%}{{ env_var('DFT_CITY_AGS') }}{%- endmacro %}
{% macro city_name() -%}{{ env_var('DFT_CITY_NAME') }}{%- endmacro %}
{% macro comparison_group() -%}{{ env_var('DFT_COMPARISON_GROUP', '') }}{%- endmacro %}
{% macro social_index_min_residents() -%}{{ env_var('DFT_SOCIAL_INDEX_MIN_RESIDENTS') | int }}{%- endmacro %}

{% macro area_levels() -%}
{{ return(fromjson(env_var('DFT_CITY_LEVELS'))) }}
{%- endmacro %}

{% macro lowest_level() -%}{{ env_var('DFT_CITY_LOWEST_LEVEL') }}{%- endmacro %}
{% macro lowest_code() -%}{{ env_var('DFT_CITY_LOWEST_LEVEL') }}_code{%- endmacro %}
{% macro top_level() -%}{{ env_var('DFT_CITY_TOP_LEVEL') }}{%- endmacro %}

{% macro level_code_columns(alias='') -%}
{%- for level in area_levels() -%}
{{ alias ~ '.' if alias else '' }}{{ level.id }}_code{{ ', ' if not loop.last }}
{%- endfor -%}
{%- endmacro %}

{% macro area_grouping_sets(year_column) -%}
{{ year_column }}, rollup ({{ level_code_columns() }})
{%- endmacro %}

{% macro area_level_columns() -%}
{%- set levels = area_levels() | reverse | list -%}
case
    {%- for level in levels %}
    when grouping({{ level.id }}_code) = 0 then '{{ level.id }}'
    {%- endfor %}
    else 'city'
end as area_level,
case
    {%- for level in levels %}
    when grouping({{ level.id }}_code) = 0 then {{ level.id }}_code
    {%- endfor %}
    else '{{ city_ags() }}'
end as area_code
{%- endmacro %}

{#- the code columns of the levels above the lowest (top down), for joining a lowest-level area's
    parents onto a row that has its own code already -#}
{% macro upper_code_columns(alias='') -%}
{%- set levels = area_levels() -%}
{%- for level in levels[:-1] -%}
{{ alias ~ '.' if alias else '' }}{{ level.id }}_code{{ ', ' if not loop.last }}
{%- endfor -%}
{%- endmacro %}
