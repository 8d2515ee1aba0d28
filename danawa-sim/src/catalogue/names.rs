//! Korean product names and variant tags per category, in the shapes Danawa lists them
//! (`인텔 코어i5-12세대 12400F (엘더레이크) (정품)`, `삼성전자 DDR5-5600 (16GB)`).

use rand::seq::SliceRandom;
use rand::Rng;

use super::defaults::{Kind, Maker};

/// Share of products whose name carries an ignore word (중고, 채굴, 마이닝).
const IGNORED_NAME_SHARE: f64 = 0.04;
/// Share of non-first variants whose tag carries an ignore word.
const IGNORED_TAG_SHARE: f64 = 0.10;

/// A product's name before its variant tag, and its CPU code name (first "(...)").
pub(super) struct BaseName {
    pub name: String,
    pub code_name: Option<&'static str>,
}

fn pick<'a, R: Rng>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

/// A product name for `kind` by `maker`.
pub(super) fn base_name<R: Rng>(kind: Kind, maker: &Maker, attr: Option<&str>, rng: &mut R) -> BaseName {
    let (mut name, code_name) = match kind {
        Kind::Cpu => cpu_name(maker, rng),
        Kind::Motherboard => (board_name(maker, attr, rng), None),
        Kind::Memory => (memory_name(maker, attr, rng), None),
        Kind::Graphics => (graphics_name(maker, attr, rng), None),
        Kind::Ssd => (ssd_name(maker, rng), None),
        Kind::Hdd => (hdd_name(maker, rng), None),
        Kind::Case => (case_name(maker, rng), None),
        Kind::Power => (power_name(maker, rng), None),
        Kind::Cooler => (cooler_name(maker, attr, rng), None),
    };
    if rng.gen_bool(IGNORED_NAME_SHARE) {
        let word = pick(rng, &["중고", "채굴용", "마이닝 에디션"]);
        name = format!("{name} {word}");
    }
    BaseName { name, code_name }
}

fn cpu_name<R: Rng>(maker: &Maker, rng: &mut R) -> (String, Option<&'static str>) {
    if maker.code == 3132 {
        let gen = rng.gen_range(3..=5);
        let tier = pick(rng, &["3", "5", "7", "9"]);
        let model = 1000 * (gen + 4) + 100 * tier.parse::<u32>().unwrap_or(5) + rng.gen_range(0..2) * 50;
        let suffix = pick(rng, &["", "X", "X3D", "G", "F"]);
        let code = match gen {
            3 => pick(rng, &["버미어", "세잔"]),
            4 => pick(rng, &["라파엘", "피닉스"]),
            _ => pick(rng, &["그래니트 릿지", "스트릭스 포인트"]),
        };
        (format!("AMD 라이젠{tier}-{}세대 {model}{suffix}", gen + 1), Some(code))
    } else {
        let gen: u32 = rng.gen_range(10..=14);
        let tier = pick(rng, &["3", "5", "7", "9"]);
        let model = gen * 1000 + tier.parse::<u32>().unwrap_or(5) * 100 + rng.gen_range(0..10) * 10;
        let suffix = pick(rng, &["", "F", "K", "KF"]);
        let code = match gen {
            10 => "코멧레이크",
            11 => "로켓레이크",
            12 => "엘더레이크",
            13 => "랩터레이크",
            _ => "랩터레이크 리프레시",
        };
        (format!("인텔 코어i{tier}-{gen}세대 {model}{suffix}"), Some(code))
    }
}

fn board_name<R: Rng>(maker: &Maker, attr: Option<&str>, rng: &mut R) -> String {
    let chip = if attr == Some("AMD CPU 전용") {
        pick(rng, &["B650M", "X670E", "A620M", "B550M", "X870"])
    } else {
        pick(rng, &["B760M", "Z790", "H610M", "B660M", "Z890"])
    };
    let line = pick(rng, &["PRIME", "TUF GAMING", "PRO", "AORUS ELITE", "STEEL LEGEND", "MAG"]);
    let tail = pick(rng, &["-A", " WIFI", " DS3H", " PLUS", "-K", " D4"]);
    format!("{} {line} {chip}{tail}", maker.name)
}

fn memory_name<R: Rng>(maker: &Maker, attr: Option<&str>, rng: &mut R) -> String {
    let ddr = pick(rng, &["DDR4-3200", "DDR5-5600", "DDR5-6000", "DDR5-4800", "DDR4-2666"]);
    let laptop = if attr == Some("노트북 전용") { " 노트북용" } else { "" };
    let line = pick(rng, &["", " 트라이던트 Z5", " FURY Beast", " 블랙 히트싱크", " RGB"]);
    format!("{}{laptop} {ddr}{line}", maker.name)
}

fn graphics_name<R: Rng>(maker: &Maker, attr: Option<&str>, rng: &mut R) -> String {
    let chip = match attr {
        Some("AMD 칩셋") => pick(rng, &["라데온 RX 7600", "라데온 RX 7800 XT", "라데온 RX 9070 XT"]),
        Some("인텔 칩셋") => pick(rng, &["ARC A750", "ARC B580"]),
        _ => pick(rng, &["지포스 RTX 4060", "지포스 RTX 4070 SUPER", "지포스 RTX 5070", "지포스 RTX 3060"]),
    };
    let line = pick(rng, &["벤투스 2X 블랙 OC", "WINDFORCE", "TWIN Edge", "STORM X Dual", "DUAL OC", "EX GAMER"]);
    let mem = pick(rng, &["D6 8GB", "D6 12GB", "D7 12GB", "D6X 16GB"]);
    format!("{} {chip} {line} {mem}", maker.name)
}

fn ssd_name<R: Rng>(maker: &Maker, rng: &mut R) -> String {
    let line = pick(rng, &["990 PRO", "870 EVO", "SN850X", "P41 Platinum", "P3 Plus", "T500"]);
    let form = pick(rng, &["M.2 NVMe", "SATA", "M.2 NVMe 방열판"]);
    format!("{} {line} {form}", maker.name)
}

fn hdd_name<R: Rng>(maker: &Maker, rng: &mut R) -> String {
    let line = pick(rng, &["BarraCuda", "IronWolf", "BLUE", "RED Plus", "P300", "N300"]);
    let spin = pick(rng, &["5400/256M", "7200/256M", "5400/64M", "7200/512M"]);
    format!("{} {line} {spin}", maker.name)
}

fn case_name<R: Rng>(maker: &Maker, rng: &mut R) -> String {
    let line = pick(rng, &["NCORE", "DLX21", "LANCOOL", "H5 Flow", "COOLMAX", "R800"]);
    let tail = pick(rng, &["메쉬", "강화유리", "ARGB", "MESH", "PLUS"]);
    format!("{} {line} {tail}", maker.name)
}

fn power_name<R: Rng>(maker: &Maker, rng: &mut R) -> String {
    let line = pick(rng, &["Classic II 풀체인지", "FOCUS GX", "HYDRO G PRO", "MegaMax", "RM"]);
    let watt = pick(rng, &["500W", "600W", "700W", "850W", "1000W"]);
    let grade = pick(rng, &["80PLUS브론즈", "80PLUS골드", "80PLUS스탠다드", "80PLUS플래티넘"]);
    format!("{} {line} {watt} {grade}", maker.name)
}

fn cooler_name<R: Rng>(maker: &Maker, attr: Option<&str>, rng: &mut R) -> String {
    let line = match attr {
        Some("CPU 쿨러") => pick(rng, &["AK400", "PA120 SE", "NH-D15", "LT720", "AG400 DIGITAL"]),
        Some("시스템 쿨러") => pick(rng, &["TL-C12C", "P12 PWM PST", "NF-A12x25", "MasterFan MF120"]),
        _ => pick(rng, &["써멀 컴파운드 MX-6", "VGA 지지대", "쿨러 브라켓"]),
    };
    format!("{} {line}", maker.name)
}

/// Variant tags of one product; `None` when the variant has no tag (only ever the first, for
/// non-CPU kinds, so a CPU title always ends with its tag after the code name).
pub(super) fn tags<R: Rng>(kind: Kind, count: usize, rng: &mut R) -> Vec<Option<String>> {
    let pool: &[&str] = match kind {
        Kind::Cpu => &["정품", "멀티팩 정품", "벌크", "병행수입"],
        Kind::Memory => &["8GB", "16GB", "32GB", "16GB x2", "48GB"],
        Kind::Ssd => &["500GB", "1TB", "2TB", "4TB"],
        Kind::Hdd => &["2TB", "4TB", "8TB", "12TB"],
        Kind::Case | Kind::Cooler => &["블랙", "화이트", "핑크", "3PACK"],
        Kind::Graphics | Kind::Motherboard | Kind::Power => {
            &["대원씨티에스", "인텍앤컴퍼니", "서린씨앤아이", "피씨디렉트"]
        }
    };
    let mut shuffled: Vec<&str> = pool.to_vec();
    shuffled.shuffle(rng);
    let untagged_single = kind != Kind::Cpu && count == 1 && rng.gen_bool(0.5);
    (0..count)
        .map(|i| {
            if untagged_single {
                return None;
            }
            if i > 0 && rng.gen_bool(IGNORED_TAG_SHARE) {
                let word = if kind == Kind::Cpu { "해외구매" } else { "중고" };
                return Some(word.to_owned());
            }
            Some(shuffled.get(i % shuffled.len()).copied().unwrap_or("기본").to_owned())
        })
        .collect()
}
