-- The indicator catalogue as the dimension BI tools and reports read.
select
    indicator_id,
    label_de,
    definition_de,
    numerator_de,
    denominator_de,
    source_de,
    unit,
    multiplier,
    is_additive,
    first_year_offset,
    domain,
    decimals,
    need_direction,
    need_direction_de
from {{ ref('indicator_catalogue') }}
