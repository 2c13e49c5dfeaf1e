-- The counts every indicator is built from, per area (statistical district, city district, city)
-- and reference year. Each level is counted from the persons themselves (a rollup over the area
-- hierarchy), not by summing districts, so that the dbt test parts_add_up_to_whole can compare.
with

residents as (
    select * from {{ ref('int_population__residents') }}
),

households as (
    select * from {{ ref('int_population__households') }}
),

recipients as (
    select * from {{ ref('int_welfare__recipients_year_end') }}
),

migration as (
    select * from {{ ref('int_population__migration_by_area') }}
),

areas as (
    select
        area_level,
        area_code
    from {{ ref('dim_area') }}
),

years as (
    select distinct reference_year
    from residents
),

-- welfare counts exist only for years with a December delivery of the register
welfare_years as (
    select
        reference_year,
        bool_or(register = 'sgb2') as has_sgb2,
        bool_or(register = 'sgb12') as has_sgb12,
        bool_or(register = 'asylblg') as has_asylblg
    from recipients
    group by reference_year
),

movement_years as (
    select distinct movement_year
    from {{ ref('stg_population__movements') }}
),

spine as (
    select
        y.reference_year,
        a.area_level,
        a.area_code
    from years as y cross join areas as a
),

resident_counts as (
    select
        reference_year,
        {{ area_level_columns() }},
        count(*) as residents,
        count(*) filter (where age <= 17) as residents_0_17,
        count(*) filter (where age between 18 and 64) as residents_18_64,
        count(*) filter (where age >= 65) as residents_65_plus,
        count(*) filter (where age < 65) as residents_under_65,
        count(*) filter (where age <= 14) as residents_0_14,
        count(*) filter (where age between 15 and 64) as residents_15_64,
        count(*) filter (where is_foreign) as residents_foreign,
        count(*) filter (where has_migration_background) as residents_migration_background,
        count(*) filter (where is_eu2) as residents_eu2,
        count(*) filter (where is_eu2 and age < 65) as residents_eu2_under_65,
        count(*) filter (where lived_in_dwelling_5y) as residents_dwelling_5y
    from residents
    group by {{ area_grouping_sets('reference_year') }}
),

household_counts as (
    select
        reference_year,
        {{ area_level_columns() }},
        count(*) filter (where n_minors > 0) as households_with_minors,
        count(*) filter (where n_minors > 0 and n_adults = 1) as households_single_parent
    from households
    group by {{ area_grouping_sets('reference_year') }}
),

recipient_counts as (
    select
        reference_year,
        {{ area_level_columns() }},
        count(*) filter (where register = 'sgb2' and age < 65) as sgb2_under_65,
        count(*) filter (where register = 'sgb2' and age <= 14) as sgb2_0_14,
        count(*) filter (where register = 'sgb2' and benefit_status = 'ELB' and age between 15 and 64) as elb_15_64,
        count(*) filter (where register = 'sgb2' and is_unemployed) as sgb2_unemployed,
        count(*) filter (where register = 'sgb2' and not is_unemployed) as sgb2_not_unemployed,
        count(*) filter (where register = 'sgb2' and is_eu2 and age < 65) as sgb2_eu2_under_65,
        count(*) filter (where register = 'sgb2') as sgb2_all,
        count(*) filter (where register = 'sgb12' and chapter = 4 and age >= 65 and not in_institution)
            as sgb12_ch4_65_plus_outside,
        count(*) filter (where register = 'sgb12' and chapter in (3, 4) and not in_institution)
            as sgb12_ch3_ch4_outside,
        count(*) filter (where register = 'asylblg') as asylblg_all
    from recipients
    group by {{ area_grouping_sets('reference_year') }}
)

select
    s.reference_year,
    s.area_level,
    s.area_code,
    coalesce(r.residents, 0) as residents,
    coalesce(r.residents_0_17, 0) as residents_0_17,
    coalesce(r.residents_18_64, 0) as residents_18_64,
    coalesce(r.residents_65_plus, 0) as residents_65_plus,
    coalesce(r.residents_under_65, 0) as residents_under_65,
    coalesce(r.residents_0_14, 0) as residents_0_14,
    coalesce(r.residents_15_64, 0) as residents_15_64,
    coalesce(r.residents_foreign, 0) as residents_foreign,
    coalesce(r.residents_migration_background, 0) as residents_migration_background,
    coalesce(r.residents_eu2, 0) as residents_eu2,
    coalesce(r.residents_eu2_under_65, 0) as residents_eu2_under_65,
    coalesce(r.residents_dwelling_5y, 0) as residents_dwelling_5y,
    coalesce(h.households_with_minors, 0) as households_with_minors,
    coalesce(h.households_single_parent, 0) as households_single_parent,
    case when wy.has_sgb2 then coalesce(w.sgb2_under_65, 0) end as sgb2_under_65,
    case when wy.has_sgb2 then coalesce(w.sgb2_0_14, 0) end as sgb2_0_14,
    case when wy.has_sgb2 then coalesce(w.elb_15_64, 0) end as elb_15_64,
    case when wy.has_sgb2 then coalesce(w.sgb2_unemployed, 0) end as sgb2_unemployed,
    case when wy.has_sgb2 then coalesce(w.sgb2_not_unemployed, 0) end as sgb2_not_unemployed,
    case when wy.has_sgb2 then coalesce(w.sgb2_eu2_under_65, 0) end as sgb2_eu2_under_65,
    case when wy.has_sgb2 then coalesce(w.sgb2_all, 0) end as sgb2_all,
    case when wy.has_sgb12 then coalesce(w.sgb12_ch4_65_plus_outside, 0) end as sgb12_ch4_65_plus_outside,
    case when wy.has_sgb12 then coalesce(w.sgb12_ch3_ch4_outside, 0) end as sgb12_ch3_ch4_outside,
    case when wy.has_asylblg then coalesce(w.asylblg_all, 0) end as asylblg_all,
    -- flows are only known for years with a movements delivery
    case when my.movement_year is not null then coalesce(m.moves_in, 0) end as moves_in,
    case when my.movement_year is not null then coalesce(m.moves_out, 0) end as moves_out,
    -- known wherever the previous year was delivered (0 for an area nobody lived in)
    case when py.reference_year is not null then coalesce(p.residents, 0) end as residents_previous_year
from spine as s
left join resident_counts as r using (reference_year, area_level, area_code)
left join household_counts as h using (reference_year, area_level, area_code)
left join recipient_counts as w using (reference_year, area_level, area_code)
left join migration as m
    on s.reference_year = m.movement_year and s.area_level = m.area_level and s.area_code = m.area_code
left join welfare_years as wy on s.reference_year = wy.reference_year
left join movement_years as my on s.reference_year = my.movement_year
left join years as py on s.reference_year - 1 = py.reference_year
left join resident_counts as p
    on s.reference_year - 1 = p.reference_year and s.area_level = p.area_level and s.area_code = p.area_code
