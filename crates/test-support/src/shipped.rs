//! The binaries that ship, as `make test` hands them to the black-box tests: each function
//! built alone with the release profile, from the folder SAM builds it in, and copied out of
//! `target/` (`scripts/run.sh`, `build_for_tests`).

use std::path::PathBuf;

/// The binary named by the environment variable `variable` (`SHIPPED_BINARY`,
/// `SHIPPED_REVOKE_BINARY`), which `make test` sets; `build` says how to make it by hand.
pub fn binary(variable: &str, build: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{variable} is not set: `make test` builds it with `{build}`"));
    assert!(
        path.is_file(),
        "{variable}={} is not a file",
        path.display()
    );
    path
}

/// The names of an ELF file's sections.
fn section_names(elf: &[u8]) -> Vec<String> {
    assert_eq!(&elf[..4], b"\x7fELF", "an ELF file");
    assert_eq!(elf[4], 2, "64-bit");
    assert_eq!(elf[5], 1, "little-endian");
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    let (sections, size, count, names) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| sections + i * size;
    let names_at = u64_at(header(names) + 0x18);
    (0..count)
        .map(|i| {
            let start = names_at
                + u32::from_le_bytes(elf[header(i)..header(i) + 4].try_into().unwrap()) as usize;
            let end = start + elf[start..].iter().position(|b| *b == 0).unwrap();
            String::from_utf8_lossy(&elf[start..end]).into_owned()
        })
        .collect()
}

/// Fails unless `path` is a build of `[profile.release]`: `strip = "symbols"` and no debug
/// info, where the dev and test profiles keep both.
pub fn assert_release_build(path: &std::path::Path) {
    let names = section_names(&std::fs::read(path).unwrap());
    assert!(names.iter().any(|n| n == ".text"), "{names:?}");
    for dev_only in [".symtab", ".debug_info", ".debug_line"] {
        assert!(
            !names.iter().any(|n| n == dev_only),
            "{} has {dev_only}: it is not a release build",
            path.display()
        );
    }
}
