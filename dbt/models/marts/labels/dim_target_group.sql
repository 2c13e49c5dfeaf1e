-- Label table of the target groups of the measures list (target_group).
select
    target_group,
    target_group_de
from {{ ref('target_groups') }}
