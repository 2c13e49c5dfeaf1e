-- Label table of the area levels used in every mart (area_level).
select distinct
    area_level,
    area_level_label_de
from {{ ref('dim_area') }}
