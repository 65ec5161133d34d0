//! The binary under test is the artefact that ships: built with the release profile (the one
//! `cargo lambda build --release` and SAM use), not the dev profile.

use crate::binary::binary;

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

/// `[profile.release]` sets `strip = "symbols"` and no debug info; the dev profile keeps both.
/// The panic strategy (unwind) and the features are the release build's too: bodies.rs panics
/// this binary and gets the 500 envelope, and `make test` builds it without a feature flag.
#[test]
fn the_binary_under_test_is_the_release_build_that_ships() {
    let path = binary();
    let names = section_names(&std::fs::read(&path).unwrap());
    assert!(names.iter().any(|n| n == ".text"), "{names:?}");
    for dev_only in [".symtab", ".debug_info", ".debug_line"] {
        assert!(
            !names.iter().any(|n| n == dev_only),
            "{} has {dev_only}: it is not a release build",
            path.display()
        );
    }
}
