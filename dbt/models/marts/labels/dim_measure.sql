-- Label table of the measures of the latest measures list (measure_id, measure_id_a, measure_id_b).
select
    measure_id,
    title,
    field_of_action_id,
    carrier,
    funding_programme,
    funder,
    target_group,
    districts_served,
    starts_on,
    ends_on,
    annual_budget_eur
from {{ ref('stg_planning__measures') }}
