//! Derived query indexes (being written).
