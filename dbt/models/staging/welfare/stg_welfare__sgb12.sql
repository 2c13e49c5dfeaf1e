with

source as (
    select * from {{ source('raw', 'sgb12') }}
),

renamed as (
    select
        {{ monthly_period_columns() }},
        fallnummer_pseudonym as case_key,
        cast(geburtsjahr as integer) as birth_year,
        cast(left(_period, 4) as integer) - cast(geburtsjahr as integer) as age_at_year_end,
        geschlecht as sex,
        staatsangehoerigkeit as nationality,
        stat_bezirk as {{ lowest_code() }},
        cast(kapitel as integer) as chapter,
        einrichtung = 'J' as in_institution
    from source
)

select * from renamed
