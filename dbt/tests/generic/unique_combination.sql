{#- The combination of the given columns is unique (dbt-core has no built-in for this).
    Fast on register-sized tables: rows are first grouped by a 64-bit hash of the combination, and
    only rows whose hash occurs more than once are compared on the columns themselves (so a hash
    collision can never fail the test, and a real duplicate is always found). -#}
{% test unique_combination(model, columns) %}
with

hashed as (
    select
        {{ columns | join(', ') }},
        hash({{ columns | join(', ') }}) as combination_hash
    from {{ model }}
),

repeated_hashes as (
    select combination_hash
    from hashed
    group by combination_hash
    having count(*) > 1
)

select {{ columns | join(', ') }}, count(*) as n_rows
from hashed
where combination_hash in (select combination_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
