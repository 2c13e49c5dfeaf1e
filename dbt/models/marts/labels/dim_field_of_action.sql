-- Label table of the fields of action (field_of_action_id).
select
    field_of_action_id,
    field_of_action_de,
    need_indicator_id,
    is_example
from {{ ref('fields_of_action') }}
