{#- Schemas are named as configured (staging, intermediate, marts, reference), not prefixed
    with the target schema: the warehouse has one database and readable schema names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
