//! YAML with positions: the tree user input is parsed into, field paths, typed decoding, merge patches, and emission.

pub(crate) mod builder;
pub(crate) mod decoder;
pub(crate) mod merge_patch;
pub(crate) mod node;
pub(crate) mod path;
pub(crate) mod stream;
pub(crate) mod unknown_field;

/// How user YAML is read: YAML 1.2 booleans (`on`, `yes` and `no` stay
/// strings, as users of labels and versions expect), duplicate keys as
/// errors rather than last-wins, and budgets that stop alias bombs and absurd
/// nesting early but leave room for monorepo-sized streams (thousands of specs
/// in one file).
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_documents: 100_000,
            max_nodes: 2_000_000,
            max_events: 10_000_000,
        },
    }
}
