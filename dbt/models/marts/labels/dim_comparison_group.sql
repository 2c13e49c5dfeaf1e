-- Label table of the comparison groups (comparison_group).
select distinct
    comparison_group,
    comparison_group_de
from {{ ref('comparison_groups') }}
