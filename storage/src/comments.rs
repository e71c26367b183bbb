//! Comments on allocation requests.
