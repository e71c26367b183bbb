//! Grants and publications.
