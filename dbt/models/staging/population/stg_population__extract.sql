with

source as (
    select * from {{ source('raw', 'einwohner') }}
),

renamed as (
    select
        cast(_period as date) as reference_date,
        cast(left(_period, 4) as integer) as reference_year,
        ordnungsmerkmal_pseudonym as person_key,
        haushalt_pseudonym as household_key,
        cast(geburtsjahr as integer) as birth_year,
        cast(left(_period, 4) as integer) - cast(geburtsjahr as integer) as age,
        geschlecht as sex,
        staatsangehoerigkeit_1 as nationality_1,
        staatsangehoerigkeit_2 as nationality_2,
        geburtsstaat as birth_country,
        wohnungsstatus as residence_status,
        stat_bezirk as {{ lowest_code() }},
        {{ german_date('zuzug_gemeinde') }} as moved_into_city_on,
        {{ german_date('einzug_wohnung') }} as moved_into_dwelling_on,
        _line_no as source_line_no,
        _file_sha256 as source_file_sha256
    from source
)

select * from renamed
