{#- The period columns of a monthly register delivery (raw `_period` = 'YYYY-MM'). -#}
{% macro monthly_period_columns() -%}
cast(_period || '-01' as date) as period_month,
cast(left(_period, 4) as integer) as period_year,
cast(right(_period, 2) as integer) as period_month_number,
_file_sha256 as source_file_sha256
{%- endmacro %}

{#- The value of a count (no denominator) or a rate (numerator / denominator x multiplier);
    no value where the denominator is 0. -#}
{% macro rate_value(numerator, denominator, multiplier) -%}
case
    when {{ denominator }} is null then {{ numerator }}
    when {{ denominator }} = 0 then null
    else {{ numerator }} / {{ denominator }} * {{ multiplier }}
end
{%- endmacro %}
