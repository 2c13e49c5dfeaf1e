-- Label table of the goals of the goal system (goal_id).
select
    goal_id,
    goal_text_de,
    field_of_action_id,
    indicator_id,
    is_example
from {{ ref('goals') }}
