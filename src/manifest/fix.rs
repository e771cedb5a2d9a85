//! Fixes applied to the text (work in progress).

use super::Manifests;
use crate::finding::Fix;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixError {
    Unsupported(String),
}

pub fn apply_fixes(_text: &str, _manifests: &Manifests, _fixes: &[(usize, &Fix)]) -> Result<String, FixError> {
    Err(FixError::Unsupported("not yet".into()))
}
