-- The measures list of the latest delivery (each delivery is the complete list as of its month).
with

deliveries as (
    select * from {{ source('raw', 'massnahmen') }}
),

latest as (
    select max(_period) as latest_period from deliveries
),

source as (
    select d.*
    from deliveries as d
    inner join latest as l on d._period = l.latest_period
),

renamed as (
    select
        massnahme_id as measure_id,
        titel as title,
        handlungsfeld as field_of_action_id,
        traeger as carrier,
        foerderprogramm as funding_programme,
        foerdergeber as funder,
        zielgruppe as target_group,
        stat_bezirke as districts_served,
        {{ german_date('beginn') }} as starts_on,
        {{ german_date('ende') }} as ends_on,
        cast(replace(jahresbudget_eur, ',', '.') as double) as annual_budget_eur,
        _period as delivery_period
    from source
)

select * from renamed
