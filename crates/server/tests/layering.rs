//! The layering rule of ARCHITECTURE.md §2, checked over `cargo metadata`: dependencies
//! point down only, and protobuf types (`quiver-proto`) reach no crate but the server.

use std::collections::BTreeMap;
use std::process::Command;

/// For each of our crates, the crates of ours it may depend on (normal dependencies).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("quiver-base", &[][..]),
        ("quiver-format", &["quiver-base"][..]),
        ("quiver-storage", &["quiver-base", "quiver-format"][..]),
        ("quiver-index", &["quiver-base", "quiver-format"][..]),
        ("quiver-expr", &["quiver-base", "quiver-format"][..]),
        ("quiver-engine", &["quiver-base", "quiver-format", "quiver-storage", "quiver-index", "quiver-expr"][..]),
        ("quiver-proto", &[][..]),
        // Test seams only: a dev-dependency, never a normal one of any crate.
        ("quiver-testkit", &["quiver-base", "quiver-storage"][..]),
        (
            "quiver-server",
            &["quiver-base", "quiver-format", "quiver-storage", "quiver-index", "quiver-expr", "quiver-engine", "quiver-proto"][..],
        ),
    ])
}

#[test]
fn dependencies_point_down_only() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let allowed = allowed();
    let mut violations = Vec::new();
    let mut seen = 0;
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(permitted) = allowed.get(name) else {
            violations.push(format!("{name} is not in the layering table; add it"));
            continue;
        };
        seen += 1;
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dep = dependency["name"].as_str().unwrap_or_default();
            let is_normal = dependency["kind"].is_null();
            if dep.starts_with("quiver-") && is_normal && !permitted.contains(&dep) {
                violations.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert_eq!(seen, allowed.len(), "every crate of the table exists in the workspace");
    assert!(violations.is_empty(), "forbidden dependency edges: {violations:?}");
}
