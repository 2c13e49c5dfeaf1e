-- The floor: the long indicator fact computed straight from the delivery CSVs in one DuckDB
-- script, with no orchestration, no contract checks, no pseudonyms and no quality gate.
-- benchmarks/floor.py loads every delivery file into <register>_all (one read_csv per file with its
-- encoding: UTF-8 with BOM, or Windows-1252 read as latin-1 — only codes and dates are used) and
-- defines the views <register>_files over them (the December files of the monthly registers) and
-- the variables districts and city. Reads a clean sample (no defects).

-- the peers are written for Dortmund's two levels (statistical and city districts), from its profile
create or replace temp table districts as
select area_code as sd, parent_area_code as cd
from read_csv(getvariable('districts'), all_varchar = true)
where area_level = 'statistical_district';

create or replace temp table extract_raw as select * from einwohner_files;

create or replace temp table persons as
select
    cast(regexp_extract(filename, '(\d{4})-12-31', 1) as integer) as y,
    ORDNUNGSMERKMAL as p, HAUSHALT as hh,
    cast(regexp_extract(filename, '(\d{4})-12-31', 1) as integer) - cast(right(GEBURTSDATUM, 4) as integer) as age,
    STAATSANGEHOERIGKEIT_1 as n1, STAATSANGEHOERIGKEIT_2 as n2, GEBURTSSTAAT as bc,
    STAT_BEZIRK as sd,
    strptime(EINZUG_WOHNUNG, '%d.%m.%Y')::date as einzug
from extract_raw
where WOHNUNGSSTATUS = 'H';

create or replace temp table residents as
with base as (
    select p.*, d.cd,
           n1 <> '000' and coalesce(n2, '') <> '000' as foreign_,
           (n1 <> '000' and coalesce(n2, '') <> '000') or (n2 is not null and n2 <> n1) or bc <> '000' as own_mb
    from persons p join districts d using (sd)
),
hh_mb as (select y, hh, bool_or(own_mb) as adult_mb from base where age >= 18 group by all)
select b.*, b.own_mb or (b.age < 18 and coalesce(h.adult_mb, false)) as mb
from base b left join hh_mb h using (y, hh);

create or replace temp table welfare as
select 'sgb2' as reg, cast(left(regexp_extract(filename, '(\d{4})-12', 1), 4) as integer) as y,
       STAT_BEZIRK as sd, cast(left(regexp_extract(filename, '(\d{4})-12', 1), 4) as integer) - cast(right(GEBURTSDATUM, 4) as integer) as age,
       STAATSANGEHOERIGKEIT as nat, LEISTUNGSSTATUS as st, ARBEITSLOS = 'J' as unemployed, null::integer as kap, null::boolean as einr
from sgb2_files
union all
select 'sgb12', cast(regexp_extract(filename, '(\d{4})-12', 1) as integer), STAT_BEZIRK,
       cast(regexp_extract(filename, '(\d{4})-12', 1) as integer) - cast(right(GEBURTSDATUM, 4) as integer),
       STAATSANGEHOERIGKEIT, null, null, cast(KAPITEL as integer), EINRICHTUNG = 'J'
from sgb12_files
union all
select 'asylblg', cast(regexp_extract(filename, '(\d{4})-12', 1) as integer), STAT_BEZIRK,
       cast(regexp_extract(filename, '(\d{4})-12', 1) as integer) - cast(right(GEBURTSDATUM, 4) as integer),
       STAATSANGEHOERIGKEIT, null, null, null, null
from asylblg_files;

create or replace temp table moves as
select cast(regexp_extract(filename, '(\d{4})\.csv', 1) as integer) as y, EREIGNIS as e,
       STAT_BEZIRK_VON as von, STAT_BEZIRK_NACH as nach
from bewegungen_files
where EREIGNIS in ('ZUZUG_AUSLAND', 'ZUZUG_INLAND', 'FORTZUG_AUSLAND', 'FORTZUG_INLAND', 'UMZUG');

-- every area: statistical district, city district, city
create or replace temp table areas as
select 'statistical_district' as lvl, sd as code, sd, cd from districts
union all select distinct 'city_district', cd, null, cd from districts
union all select 'city', getvariable('city'), null, null;

create or replace temp table counts as
with r as (
    select a.lvl, a.code, r.y,
        count(*) as res, count(*) filter (age <= 17) as r017, count(*) filter (age between 18 and 64) as r1864,
        count(*) filter (age >= 65) as r65, count(*) filter (age < 65) as ru65, count(*) filter (age <= 14) as r014,
        count(*) filter (age between 15 and 64) as r1564, count(*) filter (foreign_) as rfor, count(*) filter (mb) as rmb,
        count(*) filter (foreign_ and n1 in ('125', '154')) as reu2,
        count(*) filter (foreign_ and n1 in ('125', '154') and age < 65) as reu2u65,
        count(*) filter (einzug <= make_date(r.y - 5, 12, 31)) as r5y
    from residents r join areas a on (a.lvl = 'statistical_district' and a.sd = r.sd)
        or (a.lvl = 'city_district' and a.cd = r.cd) or a.lvl = 'city'
    group by all
),
h as (
    select a.lvl, a.code, x.y, count(*) filter (x.minors > 0) as hmin, count(*) filter (x.minors > 0 and x.adults = 1) as hsp
    from (select y, hh, min(sd) as sd, min(cd) as cd, count(*) filter (age >= 18) as adults,
                 count(*) filter (age < 18) as minors from residents group by y, hh) x
    join areas a on (a.lvl = 'statistical_district' and a.sd = x.sd) or (a.lvl = 'city_district' and a.cd = x.cd) or a.lvl = 'city'
    group by all
),
w as (
    select a.lvl, a.code, w.y,
        count(*) filter (reg = 'sgb2' and age < 65) as s2u65, count(*) filter (reg = 'sgb2' and age <= 14) as s2014,
        count(*) filter (reg = 'sgb2' and st = 'ELB' and age between 15 and 64) as elb,
        count(*) filter (reg = 'sgb2' and unemployed) as s2al, count(*) filter (reg = 'sgb2') as s2,
        count(*) filter (reg = 'sgb2' and nat in ('125', '154') and age < 65) as s2eu2,
        count(*) filter (reg = 'sgb12' and kap = 4 and age >= 65 and not einr) as grusi,
        count(*) filter (reg = 'sgb12' and not einr) as s12, count(*) filter (reg = 'asylblg') as asyl
    from welfare w join districts d using (sd)
    join areas a on (a.lvl = 'statistical_district' and a.sd = w.sd) or (a.lvl = 'city_district' and a.cd = d.cd) or a.lvl = 'city'
    group by all
),
m as (
    select a.lvl, a.code, mv.y,
        count(*) filter (a.lvl = 'statistical_district' and mv.nach = a.code and mv.von is distinct from a.code
                         or a.lvl = 'city_district' and dn.cd = a.code and df.cd is distinct from a.code
                         or a.lvl = 'city' and mv.nach is not null and mv.von is null) as moves_in,
        count(*) filter (a.lvl = 'statistical_district' and mv.von = a.code and mv.nach is distinct from a.code
                         or a.lvl = 'city_district' and df.cd = a.code and dn.cd is distinct from a.code
                         or a.lvl = 'city' and mv.von is not null and mv.nach is null) as moves_out
    from moves mv left join districts dn on dn.sd = mv.nach left join districts df on df.sd = mv.von
    cross join areas a
    group by all
)
select r.*, h.hmin, h.hsp, w.s2u65, w.s2014, w.elb, w.s2al, w.s2, w.s2eu2, w.grusi, w.s12, w.asyl,
       m.moves_in, m.moves_out, p.res as res_prev
from r
left join h using (lvl, code, y)
left join w using (lvl, code, y)
left join m using (lvl, code, y)
left join r as p on p.lvl = r.lvl and p.code = r.code and p.y = r.y - 1;

create or replace temp table floor_indicator_values as
select * from (
    select 'residents' as indicator_id, lvl, code, y, res::double as numerator, null::double as denominator from counts
    union all select 'share_under_18', lvl, code, y, r017, res from counts
    union all select 'share_65_plus', lvl, code, y, r65, res from counts
    union all select 'youth_dependency_ratio', lvl, code, y, r017, r1864 from counts
    union all select 'old_age_dependency_ratio', lvl, code, y, r65, r1864 from counts
    union all select 'share_foreign', lvl, code, y, rfor, res from counts
    union all select 'share_migration_background', lvl, code, y, rmb, res from counts
    union all select 'share_eu2', lvl, code, y, reu2, res from counts
    union all select 'share_single_parent_households', lvl, code, y, hsp, hmin from counts
    union all select 'population_change_pct', lvl, code, y, res - res_prev, res_prev from counts where res_prev is not null
    union all select 'net_migration_rate', lvl, code, y, moves_in - moves_out, res from counts where moves_in is not null
    union all select 'mobility_rate', lvl, code, y, moves_in + moves_out, res from counts where moves_in is not null
    union all select 'share_residence_5y', lvl, code, y, r5y, res from counts
    union all select 'sgb2_rate', lvl, code, y, coalesce(s2u65, 0), ru65 from counts
    union all select 'sgb2_child_rate', lvl, code, y, coalesce(s2014, 0), r014 from counts
    union all select 'elb_rate', lvl, code, y, coalesce(elb, 0), r1564 from counts
    union all select 'unemployment_sgb2_rate', lvl, code, y, coalesce(s2al, 0), r1564 from counts
    union all select 'grusi_old_age_rate', lvl, code, y, coalesce(grusi, 0), r65 from counts
    union all select 'min_income_rate', lvl, code, y, coalesce(s2, 0) + coalesce(s12, 0) + coalesce(asyl, 0), res from counts
    union all select 'eu2_sgb2_rate', lvl, code, y, coalesce(s2eu2, 0), reu2u65 from counts
);
