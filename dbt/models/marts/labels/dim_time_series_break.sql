-- Label table of the time-series breaks (time_series_break_ids lists these ids).
select
    break_id,
    any_value(break_date) as break_date,
    any_value(break_type) as break_type,
    string_agg(affected_indicator_id, ', ' order by affected_indicator_id) as affected_indicator_ids,
    arg_max(description_de, length(description_de)) as description_de,
    arg_max(source, length(source)) as source_de
from {{ ref('time_series_breaks') }}
group by break_id
