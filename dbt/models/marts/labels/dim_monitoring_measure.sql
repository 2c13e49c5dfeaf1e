-- Label table of the measures of the immigration monitoring (measure_id).
select
    measure_id,
    label_de,
    definition_de,
    unit,
    decimals
from {{ ref('monitoring_measures') }}
