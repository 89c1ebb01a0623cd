//! Tests under construction.
