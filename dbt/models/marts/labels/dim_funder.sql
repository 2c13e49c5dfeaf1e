-- Label table of the funders of the measures list (funder).
select
    funder,
    funder_de
from {{ ref('funders') }}
