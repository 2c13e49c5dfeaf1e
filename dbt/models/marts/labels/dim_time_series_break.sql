-- Label table of the time-series breaks (time_series_break_ids lists these ids).
select
    break_id,
    any_value(break_date) as break_date,
    any_value(break_type) as break_type,
    {{ ordered_string_agg('affected_indicator_id', ', ', 'affected_indicator_id') }} as affected_indicator_ids,
    max_by(description_de, length(description_de)) as description_de,
    max_by(source, length(source)) as source_de
from {{ ref('time_series_breaks') }}
group by break_id
