//! `producer validate-config` as an operator runs it: the binary, its output and exit code.

use std::process::Command;

fn validate(path: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_producer")).arg("validate-config").arg(path).output().expect("run producer")
}

#[test]
fn the_original_config_is_ok() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/tests/fixtures/scrapConfig.json");
    let out = validate(&fixture);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("ok\n"), "{stdout}");
    assert_eq!(stdout.lines().count(), 10, "ok plus one line per category:\n{stdout}");
    assert!(stdout.contains("cooler") && stdout.contains("cate=11236855"), "{stdout}");
}

#[test]
fn a_bad_config_exits_2_and_names_every_problem() {
    let dir = test_harness::TempDir::new("validate");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"pageBaseUrl": "ftp://x/", "itemBaseUrl": "http://x/?pcode=",
  "categories": [{"category": "cpu", "start": "3", "end": "1",
                  "filters": [{"name": "n", "type": "brand", "value": "1"}]}]}"#,
    )
    .expect("write");
    let out = validate(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "bad.json:1:17: pageBaseUrl:",
        "categories[0].categoryNumber: missing field",
        "categories[0].start: start page 3 is after end page 1",
        "categories[0].filters[0].type:",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}
