-- The indicator catalogue (SPEC §4) as the dimension BI tools and reports read.
select
    indicator_id,
    label_de,
    definition_de,
    numerator_de,
    denominator_de,
    unit,
    multiplier,
    is_additive,
    first_year_offset,
    domain
from {{ ref('indicator_catalogue') }}
