-- Label table of the measures of the inter-municipal comparison (measure_id).
select
    measure_id,
    measure_label_de,
    unit,
    decimals
from {{ ref('comparison_measures') }}
