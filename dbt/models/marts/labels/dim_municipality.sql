-- Label table of the municipalities of the comparison (ags), from the INKAR extract.
select
    -- the seed spells the column AGS; the mart's contract says ags
    i.ags as ags,  -- noqa: AL09
    i.name as municipality_name
from {{ ref('ref_inkar_nrw_2023') }} as i
