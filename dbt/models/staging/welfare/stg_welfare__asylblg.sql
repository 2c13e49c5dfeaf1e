with

source as (
    select * from {{ source('raw', 'asylblg') }}
),

renamed as (
    select
        {{ monthly_period_columns() }},
        fallnummer_pseudonym as case_key,
        cast(person_lfd as integer) as person_seq,
        cast(geburtsjahr as integer) as birth_year,
        cast(left(_period, 4) as integer) - cast(geburtsjahr as integer) as age_at_year_end,
        geschlecht as sex,
        staatsangehoerigkeit as nationality,
        stat_bezirk as {{ lowest_code() }},
        leistungsart as benefit_type
    from source
)

select * from renamed
