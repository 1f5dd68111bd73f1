//! Arbitrary bytes as a file given to `weir check`: it must never panic, and what it prints
//! must keep its shape — one line per problem, and "OK" only with at least one resource.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_cli::offline::{Source, check_sources};

mod weir_fuzz_common;

fuzz_target!(init: weir_fuzz_common::tolerate_caught_engine_panics(), |data: &[u8]| {
    let source = Source {
        name: "fuzz.yaml".into(),
        bytes: data.to_vec(),
    };
    let report = check_sources(&[source]);
    if report.findings.is_empty() {
        assert!(report.resources > 0, "OK with no resources");
    }
    for f in report.findings.iter().chain(&report.notes) {
        let line = f.to_string();
        assert!(!line.contains('\n'), "a finding spans lines: {line:?}");
        assert!(line.starts_with("fuzz.yaml:"), "{line:?}");
    }
});
