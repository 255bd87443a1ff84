//! Every policy example in the README parses and checks against the default schema, and the
//! diagnostic shown there is the one the checker prints.

use symbolon_policy::{check, parse, Schema};

const README: &str = include_str!("../README.md");

fn text_blocks() -> Vec<&'static str> {
    README
        .split("```text\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect()
}

#[test]
fn readme_policies_check() {
    let mut n = 0;
    for block in text_blocks() {
        let is_policy =
            block.trim_start().starts_with("policy \"") || block.trim_start().starts_with("// ");
        if !is_policy || block.contains("\"<id>\"") {
            continue;
        }
        n += 1;
        let set = parse("README.md", block).unwrap_or_else(|d| panic!("{block}\n{d}"));
        check(&set, &Schema::health()).unwrap_or_else(|d| panic!("{block}\n{d}"));
    }
    assert!(n >= 4, "found {n} policy examples");
}

#[test]
fn readme_diagnostic_is_real() {
    let src =
        "policy \"typos\" {\n  permit read on offer \"x\"\n  when holder.rol == \"Hospital\"\n}\n";
    let set = parse("typos.policy", src).unwrap();
    let d = check(&set, &Schema::health()).unwrap_err();
    let shown = text_blocks()
        .into_iter()
        .find(|b| b.starts_with("typos.policy"))
        .unwrap();
    assert_eq!(d.items[0].to_string(), shown);
}
