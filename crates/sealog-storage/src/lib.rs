//! Sealog's log engine (being written).
pub mod index;
