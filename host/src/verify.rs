//! The checks a plugin's output passes before anyone sees it: the output contract, the CRD schemas, and the store of verdicts already reached.

pub mod contract;
pub mod crd;
pub mod verdicts;
