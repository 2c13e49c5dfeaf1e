{#- One row per measure and row of `relation`: the measure's id, the key columns, numerator and
    denominator ('null' for a plain count), where they are known. `definitions` maps each
    measure id to (numerator expression, denominator expression). -#}
{% macro stack_measures(relation, id_column, key_columns, definitions) %}
    {% for measure_id, (numerator, denominator) in definitions.items() %}
        select
            '{{ measure_id }}' as {{ id_column }},
            {% for key in key_columns -%}
                {{ key }},
            {% endfor -%}
            cast({{ numerator }} as double) as numerator,
            cast({{ denominator }} as double) as denominator
        from {{ relation }}
        where
            ({{ numerator }}) is not null
            {%- if denominator != 'null' %} and ({{ denominator }}) is not null{% endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endmacro %}
