with

source as (
    select * from {{ source('raw', 'sgb2') }}
),

renamed as (
    select
        {{ monthly_period_columns() }},
        bg_nummer_pseudonym as case_key,
        cast(person_lfd as integer) as person_seq,
        cast(geburtsjahr as integer) as birth_year,
        cast(left(_period, 4) as integer) - cast(geburtsjahr as integer) as age_at_year_end,
        geschlecht as sex,
        staatsangehoerigkeit as nationality,
        stat_bezirk as {{ lowest_code() }},
        leistungsstatus as benefit_status,
        arbeitslos = 'J' as is_unemployed,
        bg_typ as household_type
    from source
)

select * from renamed
