{#- SQL that DuckDB and Spark spell differently, one macro each, dispatched on the target's
    adapter (docs/spark.md). Everything else in the models is SQL both engines read alike. -#}

{#- A German date TT.MM.JJJJ (text) as a date. -#}
{% macro german_date(expression) -%}
    {{ return(adapter.dispatch('german_date')(expression)) }}
{%- endmacro %}

{% macro default__german_date(expression) -%}
cast(strptime({{ expression }}, '%d.%m.%Y') as date)
{%- endmacro %}

{% macro spark__german_date(expression) -%}
to_date({{ expression }}, 'dd.MM.yyyy')
{%- endmacro %}

{#- `date_expression` moved by a whole number of months (negative: back); the end of a shorter
    month stays its end (29.02.2024 - 60 months = 28.02.2019) on both engines. -#}
{% macro months_after(date_expression, months) -%}
    {{ return(adapter.dispatch('months_after')(date_expression, months)) }}
{%- endmacro %}

{% macro default__months_after(date_expression, months) -%}
({{ date_expression }} + interval ({{ months }}) month)
{%- endmacro %}

{% macro spark__months_after(date_expression, months) -%}
add_months({{ date_expression }}, {{ months }})
{%- endmacro %}

{#- True if `item` is one of the comma-separated values of `list_text`. -#}
{% macro in_comma_list(item, list_text) -%}
    {{ return(adapter.dispatch('in_comma_list')(item, list_text)) }}
{%- endmacro %}

{% macro default__in_comma_list(item, list_text) -%}
list_contains(string_split({{ list_text }}, ','), {{ item }})
{%- endmacro %}

{% macro spark__in_comma_list(item, list_text) -%}
array_contains(split({{ list_text }}, ','), {{ item }})
{%- endmacro %}

{#- The values of `expression` joined by `separator` in the order of `order_by`, optionally only
    those of rows where `where` holds; null when there is none. -#}
{% macro ordered_string_agg(expression, separator, order_by, where=none) -%}
    {{ return(adapter.dispatch('ordered_string_agg')(expression, separator, order_by, where)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expression, separator, order_by, where) -%}
string_agg({{ expression }}, '{{ separator }}' order by {{ order_by }})
{%- if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro spark__ordered_string_agg(expression, separator, order_by, where) -%}
string_agg({{ expression }}, '{{ separator }}') within group (order by {{ order_by }})
{%- if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}
