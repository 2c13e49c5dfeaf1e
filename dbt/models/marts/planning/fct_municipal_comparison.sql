-- Inter-municipal comparison: the comparison municipalities' published INKAR values and,
-- in rows of their own, the city's values computed from its registers. Every row names its source
-- and year; values of different sources are never put into one row or replaced by each other.
with

inkar as (
    select * from {{ ref('ref_inkar_nrw_2023') }}
),

comparison_group as (
    select * from {{ ref('comparison_groups') }}
    where comparison_group = '{{ comparison_group() }}'
),

measures as (
    select
        measure_id,
        measure_label_de,
        unit
    from {{ ref('comparison_measures') }}
),

inkar_in_group as (
    select
        -- the seed spells the column AGS; the mart's contract says ags
        i.ags as ags,  -- noqa: AL09
        i.name as municipality_name,
        i.employment_rate_pct,
        i.population_change_5y_pct,
        i.share_65plus_pct,
        i.longterm_unemployed_share_pct
    from inkar as i
    inner join comparison_group as g on i.ags = g.ags
),

published as (
    {% for column in ['employment_rate_pct', 'population_change_5y_pct', 'share_65plus_pct',
                      'longterm_unemployed_share_pct'] %}
        select
            ags,
            municipality_name,
            '{{ column }}' as measure_id,
            cast({{ column }} as double) as measure_value
        from inkar_in_group
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

city_residents as (
    select
        reference_year,
        indicator_value as residents
    from {{ ref('fct_indicator_values') }}
    where indicator_id = 'residents' and area_level = 'city'
),

own as (
    select
        'share_65plus_pct' as measure_id,
        reference_year,
        indicator_value as measure_value
    from {{ ref('fct_indicator_values') }}
    where indicator_id = 'share_65_plus' and area_level = 'city' and reference_year = 2023
    union all
    select
        'population_change_5y_pct' as measure_id,
        c.reference_year,
        100.0 * (c.residents - p.residents) / p.residents as measure_value
    from city_residents as c
    inner join city_residents as p on c.reference_year - 5 = p.reference_year
    where c.reference_year = 2023
)

select
    p.measure_id,
    m.measure_label_de,
    m.unit,
    p.ags as ags,  -- noqa: AL09
    p.municipality_name,
    2023 as reference_year,
    p.measure_value,
    'INKAR, BBSR Bonn 2025 (dl-de/by-2-0)' as data_source,
    p.ags = '{{ city_ags() }}' as is_own_city,
    false as is_own_computation,
    '{{ comparison_group() }}' as comparison_group,
    cast(rank() over (partition by p.measure_id order by p.measure_value desc) as bigint) as rank_in_group
from published as p
inner join measures as m using (measure_id)
union all
select
    o.measure_id,
    m.measure_label_de,
    m.unit,
    '{{ city_ags() }}' as ags,
    '{{ city_name() }} (eigene Berechnung)' as municipality_name,
    o.reference_year,
    o.measure_value,
    'Daten für Taten: Einwohnermelderegister, eigene Berechnung (Stichtag 31.12.)' as data_source,
    true as is_own_city,
    true as is_own_computation,
    '{{ comparison_group() }}' as comparison_group,
    cast(null as bigint) as rank_in_group
from own as o
inner join measures as m using (measure_id)
-- a city profile without a comparison group compares with nobody: no rows of its own either
where '{{ comparison_group() }}' <> ''
