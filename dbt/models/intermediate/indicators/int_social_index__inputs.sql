-- Inputs of the social index per statistical district and year: status indicators S1-S3 and
-- their change over two years D1-D3 (percentage points). Years without the year two before are
-- left out.
with

counts as (
    select * from {{ ref('int_indicators__base_counts') }}
    where area_level = '{{ lowest_level() }}'
),

status as (
    select
        area_code as {{ lowest_code() }},
        reference_year,
        residents,
        -- S1: unemployed SGB II recipients per 100 residents 15-64 (unemployment_sgb2_rate)
        100.0 * cast(sgb2_unemployed as double) / nullif(residents_15_64, 0) as s1,
        -- S2: transfer receipt: SGB II recipients not registered unemployed + SGB XII chapter 3
        --     and 4 outside institutions, per 100 residents
        100.0 * cast(sgb2_not_unemployed + sgb12_ch3_ch4_outside as double) / nullif(residents, 0) as s2,
        -- S3: SGB II recipients 0-14 per 100 residents 0-14 (sgb2_child_rate)
        100.0 * cast(sgb2_0_14 as double) / nullif(residents_0_14, 0) as s3
    from counts
)

select
    s.{{ lowest_code() }},
    s.reference_year,
    s.residents,
    s.s1,
    s.s2,
    s.s3,
    s.s1 - p.s1 as d1,
    s.s2 - p.s2 as d2,
    s.s3 - p.s3 as d3
from status as s
inner join status as p
    on
        s.{{ lowest_code() }} = p.{{ lowest_code() }}
        and p.reference_year = s.reference_year - 2
