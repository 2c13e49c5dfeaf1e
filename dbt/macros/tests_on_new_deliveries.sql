{#- Generic tests on register-sized models check only the rows of new deliveries.

    dbt applies `get_where_subquery` to the model under every generic test. Here it also limits
    models with a `source_file_sha256` column (staging of the registers and the intermediate
    models built from them) to the rows of delivery files loaded since the last successful
    complete build (audit.load_log, audit.dbt_builds; see dagster_project/dbt_state.py). Rows of
    older deliveries passed the same tests then and have not changed since. A full refresh, and a
    warehouse without a recorded build, test every row. A test's own `where` config still applies. -#}

{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append(where) -%}
    {%- endif -%}
    {%- set new_only = new_deliveries_filter(relation) -%}
    {%- if new_only -%}
        {%- do filters.append(new_only) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro new_deliveries_filter(relation) -%}
    {%- if not execute or flags.FULL_REFRESH or relation is string -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set builds = adapter.get_relation(database=target.database, schema='audit', identifier='dbt_builds') -%}
    {%- if builds is none -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if 'source_file_sha256' not in columns -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set filter -%}
        source_file_sha256 in (
            select file_sha256 from {{ target.database }}.audit.load_log
            where status = 'geladen'
                and finished_at > (select max(finished_at) from {{ builds }})
        )
    {%- endset -%}
    {%- do return(filter) -%}
{%- endmacro %}
