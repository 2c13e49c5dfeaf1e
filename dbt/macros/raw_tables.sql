{#- The raw layer as tables of the engine. DuckDB: nothing to do, the warehouse file keeps a view
    raw.<register> over each register's Parquet files (dagster_project/ingest/raw_layer.py).
    Spark: an external table raw.<register> over the same files, made anew before every run
    (so files delivered since are seen), with the columns the pipeline passes in
    DFT_SPARK_RAW_TABLES (JSON: register -> {location, columns: [[name, type], ...]}; see
    dagster_project/engine/spark.py). -#}
{% macro create_raw_tables() -%}
    {{ return(adapter.dispatch('create_raw_tables')()) }}
{%- endmacro %}

{% macro default__create_raw_tables() -%}
{%- endmacro %}

{% macro spark__create_raw_tables() -%}
{%- set text = env_var('DFT_SPARK_RAW_TABLES', '') -%}
{%- if not text -%}
    {{ exceptions.raise_compiler_error("DFT_SPARK_RAW_TABLES fehlt: das Spark-Ziel braucht die Rohdaten-Tabellen (dagster_project/engine/spark.py).") }}
{%- endif -%}
{%- if execute -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for register, table in fromjson(text).items() -%}
        {%- do run_query('drop table if exists raw.' ~ register) -%}
        {%- set columns = [] -%}
        {%- for name, type in table['columns'] -%}
            {%- do columns.append('`' ~ name ~ '` ' ~ type) -%}
        {%- endfor -%}
        {%- do run_query('create table raw.' ~ register ~ ' (' ~ columns | join(', ') ~ ") using parquet location '" ~ table['location'] ~ "'") -%}
    {%- endfor -%}
{%- endif -%}
{%- endmacro %}

{#- Seeds on Spark. dbt-spark's session method puts each value into the insert as '<value>' without
    escaping: "Côte d'Ivoire" breaks the statement and an empty cell arrives as the text 'None'.
    Here every value is written as a literal of its own: null, a number, true/false, or a string
    with quote and backslash escaped. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(get_batch_size()) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                  cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }})
                  {%- if not loop.last %},{% endif -%}
              {%- endfor -%})
              {%- if not loop.last %},{% endif %}
          {%- endfor %}
      {% endset %}
      {% do adapter.add_query(sql, abridge_sql_log=True) %}
      {% if loop.index0 == 0 %}
          {% do statements.append(sql) %}
      {% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}

{% macro spark_seed_literal(value) -%}
{%- if value is none -%}
null
{%- elif value is sameas true or value is sameas false -%}
{{ 'true' if value else 'false' }}
{%- elif value is number -%}
{{ value }}
{%- else -%}
'{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
{%- endif -%}
{%- endmacro %}
