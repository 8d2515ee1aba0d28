//! Spec tables and spec summaries, derived from the seed and the pcode on demand (never
//! stored, so 100,000 products stay small). The last section is always `인증`.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{Kind, VariantRef};
use crate::rng::{salt, stream};

/// One section of the spec table: its title row and its field/value pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// The section the crawler stops at.
pub const CERTIFICATION: &str = "인증";

fn pick<R: Rng>(rng: &mut R, items: &[&str]) -> String {
    items.choose(rng).copied().unwrap_or("").to_owned()
}

fn yes_no<R: Rng>(rng: &mut R) -> String {
    if rng.gen_bool(0.6) {
        "○".to_owned()
    } else {
        "미지원".to_owned()
    }
}

fn section(name: &'static str, fields: Vec<(&'static str, String)>) -> Section {
    Section { name, fields }
}

/// The full spec table of one variant, `인증` last.
pub fn spec_table(seed: u64, v: &VariantRef<'_>) -> Vec<Section> {
    let mut rng = stream(seed, salt::SPEC, u64::from(v.variant.pcode));
    let maker = v.category.maker(v.product);
    let mut sections = vec![section(
        "제품 정보",
        vec![
            ("제조회사", maker.spec_name.to_owned()),
            ("등록년월", format!("{}년 {:02}월", v.product.year, v.product.month)),
        ],
    )];
    sections.extend(kind_sections(v, &mut rng));
    sections.push(section(
        CERTIFICATION,
        vec![
            ("KC 인증", format!("R-R-{}-{:06}", maker.code % 1000, rng.gen_range(0..1_000_000))),
            ("전자파 인증", yes_no(&mut rng)),
        ],
    ));
    sections
}

fn kind_sections<R: Rng>(v: &VariantRef<'_>, rng: &mut R) -> Vec<Section> {
    match v.category.def.kind {
        Kind::Cpu => cpu(v.category.maker(v.product).code == 3132, rng),
        Kind::Motherboard => board(rng),
        Kind::Memory => memory(v, rng),
        Kind::Graphics => graphics(rng),
        Kind::Ssd => ssd(v, rng),
        Kind::Hdd => hdd(v, rng),
        Kind::Case => case(rng),
        Kind::Power => power(rng),
        Kind::Cooler => cooler(v, rng),
    }
}

fn cpu<R: Rng>(amd: bool, rng: &mut R) -> Vec<Section> {
    let sockets: &[&str] = if amd {
        &["AMD(소켓AM5)", "AMD(소켓AM4)"]
    } else {
        &["인텔(소켓1700)", "인텔(소켓1851)", "인텔(소켓1200)"]
    };
    let cores = *[4u32, 6, 8, 12, 16, 24].choose(rng).unwrap_or(&6);
    vec![
        section(
            "CPU 사양",
            vec![
                ("소켓 구분", pick(rng, sockets)),
                ("코어 수", format!("{cores}코어")),
                ("스레드 수", format!("{}스레드", cores * 2)),
                ("기본 클럭", format!("{}.{}GHz", rng.gen_range(2..4), rng.gen_range(0..10))),
                ("최대 클럭", format!("{}.{}GHz", rng.gen_range(4..6), rng.gen_range(0..10))),
                ("L3 캐시", format!("{}MB", [16, 20, 24, 32, 36, 96].choose(rng).unwrap_or(&16))),
                ("PBP-MTP", format!("{}W", [65, 105, 125, 170].choose(rng).unwrap_or(&65))),
            ],
        ),
        section(
            "메모리 사양",
            vec![("메모리 규격", pick(rng, &["DDR5", "DDR4, DDR5", "DDR4"])), ("메모리 채널", "듀얼".to_owned())],
        ),
        section(
            "부가 기능",
            vec![
                ("내장그래픽", pick(rng, &["탑재", "미탑재"])),
                ("기본쿨러", pick(rng, &["미포함", "포함"])),
                ("하이퍼스레딩", "○".to_owned()),
            ],
        ),
    ]
}

fn board<R: Rng>(rng: &mut R) -> Vec<Section> {
    vec![
        section(
            "기본 사양",
            vec![
                ("CPU 소켓", pick(rng, &["인텔(소켓1700)", "AMD(소켓AM5)", "AMD(소켓AM4)"])),
                ("폼팩터", pick(rng, &["M-ATX (24.4x24.4cm)", "ATX (30.5x24.4cm)", "M-ITX"])),
                ("전원부", format!("{}+1+1페이즈", rng.gen_range(6..20))),
            ],
        ),
        section(
            "메모리",
            vec![
                ("메모리 종류", pick(rng, &["DDR5", "DDR4"])),
                ("메모리 슬롯", pick(rng, &["2개", "4개"])),
                ("최대 메모리", pick(rng, &["96GB", "128GB", "192GB"])),
            ],
        ),
        section(
            "저장장치/확장",
            vec![
                ("M.2", format!("{}개", rng.gen_range(1..5))),
                ("SATA3", format!("{}개", rng.gen_range(2..7))),
                ("PCIe 슬롯", pick(rng, &["PCIe5.0 x16", "PCIe4.0 x16", "PCIe4.0x16 x1"])),
                ("무선랜", yes_no(rng)),
            ],
        ),
    ]
}

fn tag_or<'a>(v: &'a VariantRef<'_>, fallback: &'a str) -> &'a str {
    v.variant.tag.as_deref().unwrap_or(fallback)
}

fn memory<R: Rng>(v: &VariantRef<'_>, rng: &mut R) -> Vec<Section> {
    let laptop = v.product.attrs.contains(&1224);
    vec![section(
        "메모리 사양",
        vec![
            ("사용 장치", if laptop { "노트북용" } else { "PC용" }.to_owned()),
            ("제품 분류", pick(rng, &["DDR5", "DDR4"])),
            ("메모리 용량", tag_or(v, "16GB").to_owned()),
            ("동작 클럭", format!("{}MHz", [3200, 4800, 5600, 6000].choose(rng).unwrap_or(&5600))),
            ("램 타이밍", format!("CL{}", rng.gen_range(16..50))),
            ("동작 전압", pick(rng, &["1.1V", "1.2V", "1.35V"])),
            ("방열판", pick(rng, &["미포함", "방열판 포함"])),
            ("XMP", yes_no(rng)),
        ],
    )]
}

fn graphics<R: Rng>(rng: &mut R) -> Vec<Section> {
    vec![
        section(
            "GPU 사양",
            vec![
                ("칩셋 제조사", pick(rng, &["NVIDIA", "AMD", "인텔"])),
                ("베이스클럭", format!("{}MHz", rng.gen_range(1500..2600))),
                ("부스트클럭", format!("{}MHz", rng.gen_range(2300..3100))),
                ("스트림 프로세서", format!("{}개", rng.gen_range(2..12) * 1024)),
            ],
        ),
        section(
            "메모리 사양",
            vec![
                ("메모리 종류", pick(rng, &["GDDR6", "GDDR6X", "GDDR7"])),
                ("메모리 용량", pick(rng, &["8GB", "12GB", "16GB"])),
                ("메모리 버스", pick(rng, &["128-bit", "192-bit", "256-bit"])),
            ],
        ),
        section(
            "출력/전원",
            vec![
                ("HDMI", "○".to_owned()),
                ("DP", format!("{}개", rng.gen_range(1..4))),
                ("정격파워", format!("{}W 이상", [450, 550, 650, 750].choose(rng).unwrap_or(&550))),
                ("전원 포트", pick(rng, &["8핀 x1", "8핀 x2", "16핀(12V2x6) x1"])),
            ],
        ),
        section(
            "쿨러",
            vec![
                ("쿨링팬", pick(rng, &["2팬", "3팬"])),
                ("팬 크기", pick(rng, &["90mm x2", "95mm x3", "100mm x2"])),
                ("제로팬", yes_no(rng)),
            ],
        ),
    ]
}

fn ssd<R: Rng>(v: &VariantRef<'_>, rng: &mut R) -> Vec<Section> {
    vec![
        section(
            "SSD 사양",
            vec![
                ("폼팩터", pick(rng, &["M.2 (2280)", "6.4cm(2.5형)"])),
                ("인터페이스", pick(rng, &["PCIe4.0x4", "PCIe5.0x4", "SATA3"])),
                ("용량", tag_or(v, "1TB").to_owned()),
                ("메모리 타입", pick(rng, &["TLC", "QLC", "MLC"])),
                ("순차읽기", format!("{}MB/s", rng.gen_range(500..12_000))),
                ("순차쓰기", format!("{}MB/s", rng.gen_range(450..11_000))),
            ],
        ),
        section(
            "부가 기능",
            vec![
                ("TRIM", "○".to_owned()),
                ("방열판", pick(rng, &["미포함", "방열판 포함"])),
                ("DRAM 탑재", yes_no(rng)),
            ],
        ),
    ]
}

fn hdd<R: Rng>(v: &VariantRef<'_>, rng: &mut R) -> Vec<Section> {
    vec![section(
        "HDD 사양",
        vec![
            ("디스크 크기", pick(rng, &["3.5인치", "2.5인치"])),
            ("디스크 용량", tag_or(v, "4TB").to_owned()),
            ("인터페이스", "SATA3 (6Gb/s)".to_owned()),
            ("회전수", pick(rng, &["5400RPM", "5900RPM", "7200RPM"])),
            ("버퍼 용량", pick(rng, &["64MB", "256MB", "512MB"])),
            ("기록방식", pick(rng, &["CMR", "SMR"])),
        ],
    )]
}

fn case<R: Rng>(rng: &mut R) -> Vec<Section> {
    vec![
        section(
            "케이스 사양",
            vec![
                ("케이스 크기", pick(rng, &["미들타워", "미니타워", "빅타워"])),
                ("지원보드", pick(rng, &["표준-ATX", "M-ATX", "Mini-ITX"])),
                ("측면 패널", pick(rng, &["강화유리", "아크릴", "메쉬"])),
                ("VGA 장착", format!("최대 {}mm", rng.gen_range(300..450))),
            ],
        ),
        section(
            "쿨러 장착",
            vec![
                ("기본 쿨링팬", pick(rng, &["120mm LED x3", "140mm x2", "120mm x4"])),
                ("CPU쿨러 장착", format!("최대 {}mm", rng.gen_range(150..185))),
                ("수랭 라디에이터", pick(rng, &["최대 360mm", "최대 280mm"])),
            ],
        ),
        section("부가 기능", vec![("구성품", pick(rng, &["나사 x12", "케이블타이 x4"])), ("USB-C", yes_no(rng))]),
    ]
}

fn power<R: Rng>(rng: &mut R) -> Vec<Section> {
    vec![
        section(
            "파워 사양",
            vec![
                ("정격출력", format!("{}W", [500, 600, 700, 850, 1000].choose(rng).unwrap_or(&600))),
                ("80PLUS인증", pick(rng, &["브론즈", "골드", "스탠다드", "플래티넘"])),
                ("메인전원", "24핀(20+4)".to_owned()),
                ("보조전원", pick(rng, &["8핀(4+4) x1", "8핀(4+4) x2"])),
                ("PCIe 16핀", yes_no(rng)),
            ],
        ),
        section(
            "쿨링팬",
            vec![
                ("팬 크기", pick(rng, &["120mm", "135mm", "140mm"])),
                ("팬 베어링", pick(rng, &["FDB", "슬리브", "볼"])),
            ],
        ),
    ]
}

fn cooler<R: Rng>(v: &VariantRef<'_>, rng: &mut R) -> Vec<Section> {
    let system = v.product.attrs.contains(&4017);
    let title: &'static str = if system { "시스템 쿨러 사양" } else { "CPU 쿨러 사양" };
    vec![
        section(
            title,
            vec![
                ("냉각 방식", pick(rng, &["공랭", "수랭"])),
                ("팬 크기", pick(rng, &["120mm x2", "120mm", "140mm x1", "92mm x2"])),
                (
                    "최대 풍량",
                    format!("{}.{}CFM x{}", rng.gen_range(40..90), rng.gen_range(0..100), rng.gen_range(1..4)),
                ),
                ("최대 팬소음", format!("{}.{}dBA", rng.gen_range(20..40), rng.gen_range(0..10))),
                ("LED 라이트", pick(rng, &["ARGB x3", "RGB", "미지원"])),
                ("PWM 지원", "○".to_owned()),
            ],
        ),
        section(
            "부가 기능",
            vec![
                ("구성품", pick(rng, &["써멀구리스 x1", "고정 나사 x4", "데이지체인 케이블"])),
                ("AS 기간", format!("{}년", rng.gen_range(1..7))),
            ],
        ),
    ]
}

/// The `.spec_list` summary: the product's kind first, then a few spec values.
pub fn summary(seed: u64, v: &VariantRef<'_>) -> Vec<String> {
    let mut items = vec![kind_label(v).to_owned()];
    for section in spec_table(seed, v).iter().skip(1) {
        if section.name == CERTIFICATION {
            break;
        }
        items.extend(section.fields.iter().take(2).map(|(k, value)| format!("{k}: {value}")));
    }
    items
}

/// First item of the summary: what the product is ('분류' for graphics cards and coolers).
pub fn kind_label(v: &VariantRef<'_>) -> &'static str {
    let attrs = &v.product.attrs;
    match v.category.def.kind {
        Kind::Cpu => "CPU",
        Kind::Motherboard => "메인보드",
        Kind::Memory if attrs.contains(&1224) => "노트북용",
        Kind::Memory => "데스크탑용",
        Kind::Graphics => "그래픽카드",
        Kind::Ssd => "내장형SSD",
        Kind::Hdd => "HDD (PC용)",
        Kind::Case => "PC케이스",
        Kind::Power => "ATX파워",
        Kind::Cooler if attrs.contains(&4015) => "CPU 쿨러",
        Kind::Cooler if attrs.contains(&4017) => "시스템 쿨러",
        Kind::Cooler => "쿨링 액세서리",
    }
}
