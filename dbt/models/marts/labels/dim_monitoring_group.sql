-- Label table of the nationality groups of the immigration monitoring (monitoring_group).
select distinct
    monitoring_group,
    monitoring_group_label as monitoring_group_de
from {{ ref('ref_nationalities') }}
