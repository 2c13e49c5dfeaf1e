with

source as (
    select * from {{ source('raw', 'bewegungen') }}
),

renamed as (
    select
        cast(_period as integer) as movement_year,
        ereignis as event_type,
        {{ german_date('datum') }} as event_date,
        ordnungsmerkmal_pseudonym as person_key,
        cast(geburtsjahr as integer) as birth_year,
        geschlecht as sex,
        staatsangehoerigkeit_1 as nationality_1,
        stat_bezirk_von as district_from_code,
        stat_bezirk_nach as district_to_code,
        staat_herkunft_ziel as country_from_to,
        _line_no as source_line_no,
        _file_sha256 as source_file_sha256
    from source
)

select * from renamed
