-- Moves into and out of each area per year. A move within the city counts for the two areas it
-- connects at that level, and not at all where both ends lie in the same area; births and deaths
-- are not moves.
with

movements as (
    select * from {{ ref('stg_population__movements') }}
    where event_type in ('ZUZUG_AUSLAND', 'ZUZUG_INLAND', 'FORTZUG_AUSLAND', 'FORTZUG_INLAND', 'UMZUG')
),

areas as (
    select {{ level_code_columns() }}
    from {{ ref('int_areas__hierarchy') }}
),

ends as (
    select
        m.movement_year,
        {%- for level in area_levels() %}
            area_from.{{ level.id }}_code as from_{{ level.id }},
            area_to.{{ level.id }}_code as to_{{ level.id }},
        {%- endfor %}
        case when m.district_from_code is not null then '{{ city_ags() }}' end as from_city,
        case when m.district_to_code is not null then '{{ city_ags() }}' end as to_city
    from movements as m
    left join areas as area_from on m.district_from_code = area_from.{{ lowest_code() }}
    left join areas as area_to on m.district_to_code = area_to.{{ lowest_code() }}
),

by_level as (
    {% for level in (area_levels() | reverse | map(attribute='id') | list) + ['city'] %}
        select
            movement_year,
            '{{ level }}' as area_level,
            to_{{ level }} as area_code,
            1 as moves_in,
            0 as moves_out
        from ends
        where to_{{ level }} is not null and to_{{ level }} is distinct from from_{{ level }}
        union all
        select
            movement_year,
            '{{ level }}' as area_level,
            from_{{ level }} as area_code,
            0 as moves_in,
            1 as moves_out
        from ends
        where from_{{ level }} is not null and from_{{ level }} is distinct from to_{{ level }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    movement_year,
    area_level,
    area_code,
    sum(moves_in) as moves_in,
    sum(moves_out) as moves_out
from by_level
group by all
