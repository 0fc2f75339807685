//! The vendored JavaScript (`assets/vendor/`) is what its README says: every file listed with
//! its SHA-256, unmodified since it was taken from its npm package, and the versions the README,
//! the packages' own `package.json` and `verify.js` name all agree.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

const VENDOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/vendor");

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(VENDOR).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `(file, sha256)` rows of the README's hash table.
fn listed() -> Vec<(String, String)> {
    let readme = String::from_utf8(read("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // "| `file` | `hash` |" → ["", "`file`", "`hash`", ""]
            let (file, hash) = (cells.get(1)?, cells.get(2)?);
            let file = file.strip_prefix('`')?.strip_suffix('`')?;
            let hash = hash.strip_prefix('`')?.strip_suffix('`')?;
            (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (file.to_owned(), hash.to_owned()))
        })
        .collect()
}

#[test]
fn every_vendored_file_is_listed_with_its_sha256() {
    let rows = listed();
    assert!(rows.len() >= 9, "the README lists {} files", rows.len());
    for (file, want) in &rows {
        let got: String = Sha256::digest(read(file))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &got, want,
            "{file} differs from the copy the README records"
        );
    }
    // And nothing sits in the folder unlisted.
    let mut on_disk = BTreeSet::new();
    for pkg in std::fs::read_dir(VENDOR).unwrap() {
        let pkg = pkg.unwrap().path();
        if pkg.is_dir() {
            for f in std::fs::read_dir(&pkg).unwrap() {
                let f = f.unwrap().path();
                on_disk.insert(format!(
                    "{}/{}",
                    pkg.file_name().unwrap().to_str().unwrap(),
                    f.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    let listed: BTreeSet<String> = rows.into_iter().map(|r| r.0).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn the_versions_agree_everywhere() {
    let verify = include_str!("../assets/verify.js");
    let readme = String::from_utf8(read("README.md")).unwrap();
    for (dir, name, constant) in [
        ("noble-ed25519", "@noble/ed25519", "FALLBACK_ED25519"),
        ("noble-hashes", "@noble/hashes", "FALLBACK_SHA256"),
    ] {
        let pkg: serde_json::Value =
            serde_json::from_slice(&read(&format!("{dir}/package.json"))).unwrap();
        assert_eq!(pkg["name"], name);
        let version = pkg["version"].as_str().unwrap();
        assert_eq!(pkg["license"], "MIT", "{name}");
        assert!(
            verify.contains(&format!("export const {constant} = '{name} {version}';")),
            "verify.js names another version of {name} than {version}"
        );
        assert!(
            readme.contains(&format!("| `{name}` | {version} |")),
            "the README names another version of {name} than {version}"
        );
        assert!(
            String::from_utf8(read(&format!("{dir}/LICENSE")))
                .unwrap()
                .contains("MIT License"),
            "{name}'s licence"
        );
    }
}
