{#- Incremental models by reference year.

    Such a model keeps in `source_file_sha256` the delivery file each row was built from. On an
    incremental run only the years whose delivered files differ from those are rebuilt
    (delete+insert by reference_year): a new or re-delivered period rebuilds its year, a warehouse
    without new deliveries rebuilds nothing. A change to the dbt project itself is rebuilt in full:
    the pipeline passes --full-refresh when the project differs from the last build
    (dagster_project/assets/dbt_models.py). -#}

{% macro incremental_by_year_config() -%}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='reference_year',
    on_schema_change='fail'
) }}
{%- endmacro %}

{#- (reference_year, source_file_sha256) of the deliveries of raw registers, optionally only of
    some periods (e.g. December). -#}
{% macro delivered_files(registers, period_filter='true') -%}
{% for register in registers %}
select distinct
    cast(left(_period, 4) as integer) as reference_year,
    _file_sha256 as source_file_sha256
from {{ source('raw', register) }}
where {{ period_filter }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{%- endmacro %}

{#- The reference years this incremental model has to rebuild: those with a delivered file it
    was not built from. `delivered_sql` returns (reference_year, source_file_sha256). -#}
{% macro years_to_rebuild(delivered_sql) -%}
select distinct reference_year
from ({{ delivered_sql }}) as delivered
where source_file_sha256 not in (
    select distinct source_file_sha256 from {{ this }}
    where source_file_sha256 is not null
)
{%- endmacro %}
