-- Social index per statistical district and year (Berlin MSS method): absolute rates,
-- z-values, indices and classes; districts under the minimum residents listed as not classified.
with

indexed as (
    {{ social_index(
        relation=ref('int_social_index__inputs'),
        area_column=lowest_code(),
        period_column='reference_year',
        residents_column='residents',
        status_columns=['s1', 's2', 's3'],
        dynamics_columns=['d1', 'd2', 'd3'],
        min_residents=social_index_min_residents() | int,
    ) }}
)

select
    {{ lowest_code() }},
    reference_year,
    cast(residents as bigint) as residents,
    s1 as s1_unemployment_sgb2_rate,
    s2 as s2_transfer_rate,
    s3 as s3_sgb2_child_rate,
    d1 as d1_change_unemployment_pp,
    d2 as d2_change_transfer_pp,
    d3 as d3_change_child_rate_pp,
    round(z_s1, 4) as z_s1,
    round(z_s2, 4) as z_s2,
    round(z_s3, 4) as z_s3,
    round(z_d1, 4) as z_d1,
    round(z_d2, 4) as z_d2,
    round(z_d3, 4) as z_d3,
    round(status_index, 4) as status_index,
    round(dynamics_index, 4) as dynamics_index,
    is_classified,
    status_class,
    dynamics_class,
    case
        when is_classified then status_class || ' / ' || dynamics_class
        else 'nicht klassifiziert'
    end as index_class
from indexed
