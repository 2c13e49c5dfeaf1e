{#- Incremental models by reference year.

    Such a model keeps in `source_file_sha256` the delivery file each row was built from. On an
    incremental run only the years whose delivered files differ from those are rebuilt
    (delete+insert by reference_year): a new or re-delivered period rebuilds its year, a warehouse
    without new deliveries rebuilds nothing. A change to the dbt project itself is rebuilt in full:
    the pipeline passes --full-refresh when the project differs from the last build
    (dagster_project/defs/dbt_models/assets.py). -#}

{% macro incremental_by_year_config() -%}
    {{ return(adapter.dispatch('incremental_by_year_config')()) }}
{%- endmacro %}

{% macro default__incremental_by_year_config() -%}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='reference_year',
    on_schema_change='fail'
) }}
{%- endmacro %}

{#- Spark has no delete+insert on plain Parquet tables: there the model is rebuilt whole
    (docs/spark.md). -#}
{% macro spark__incremental_by_year_config() -%}
{{ config(materialized='table') }}
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

{#- The reference years this incremental model has to rebuild. `delivered_sql` returns
    (reference_year, source_file_sha256). The Dagster run passes its partition's years in the
    environment (not as --vars: a change of vars makes dbt parse the whole project again):
    DFT_REFERENCE_YEARS (comma-separated; unset: every year) and DFT_REBUILD_YEARS (1 for a
    backfill). With DFT_REBUILD_YEARS=1 exactly those years are rebuilt, otherwise those among
    them with a delivered file this model was not built from. -#}
{% macro reference_years() -%}
{%- set text = env_var('DFT_REFERENCE_YEARS', '') | trim -%}
{%- if not text -%}
    {{ return(none) }}
{%- endif -%}
{%- set years = [] -%}
{%- for item in text.split(',') -%}
    {%- if not (item | trim).isdigit() -%}
        {{ exceptions.raise_compiler_error("DFT_REFERENCE_YEARS='" ~ text ~ "' ist keine Liste von Jahren (z. B. 2023,2024).") }}
    {%- endif -%}
    {%- do years.append(item | trim | int) -%}
{%- endfor -%}
{{ return(years) }}
{%- endmacro %}

{% macro years_to_rebuild(delivered_sql) -%}
{%- set years = reference_years() -%}
{%- if years is not none and env_var('DFT_REBUILD_YEARS', '0') == '1' -%}
select distinct reference_year
from ({{ delivered_sql }}) as delivered
where reference_year in ({{ years | join(', ') }})
{%- else -%}
select distinct reference_year
from ({{ delivered_sql }}) as delivered
where source_file_sha256 not in (
    select distinct source_file_sha256 from {{ this }}
    where source_file_sha256 is not null
)
{%- if years is not none %}
    and reference_year in ({{ years | join(', ') }})
{%- endif %}
{%- endif %}
{%- endmacro %}
