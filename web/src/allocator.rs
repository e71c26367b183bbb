//! The global allocator and its settings.
//!
//! glibc's allocator took about a third of the server's CPU time on large list pages, merging
//! freed chunks as response buffers grew, so Keystone uses mimalloc. By default mimalloc
//! commits its arenas up front and returns freed pages after a delay, which raised the
//! resident size by about half. Committing on demand and returning pages at once brought it
//! below glibc's at the same throughput (scripts/bench.sh; docs/benchmarks.md has the numbers).
//!
//! The commit setting must be in place before the first allocation, which happens before
//! `main`, so it is compiled in (`MI_DEFAULT_ARENA_EAGER_COMMIT=0` in `.cargo/config.toml`).
//! The purge delay is read on every purge and is set here at start-up.

use std::ffi::c_long;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Positions in mimalloc 3's `mi_option_e`, which the Rust bindings do not name. The unit test
// below checks them against mimalloc's defaults.
#[cfg(test)]
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Applies Keystone's allocator settings, unless the environment sets them
/// (`MIMALLOC_PURGE_DELAY`). Call it first thing in `main`.
pub fn configure() {
    set_unless_in_environment("MIMALLOC_PURGE_DELAY", PURGE_DELAY, 0);
}

fn set_unless_in_environment(variable: &str, option: libmimalloc_sys::mi_option_t, value: c_long) {
    if std::env::var_os(variable).is_none() {
        // SAFETY: mi_option_set stores an integer in mimalloc's option table; any value is
        // valid for these two options, and no allocation depends on the call's timing.
        unsafe { libmimalloc_sys::mi_option_set(option, value) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The positions name the intended options: the compiled-in commit setting reads 0, and
    /// the purge delay is mimalloc 3's default of 1000 ms until `configure` sets it.
    #[test]
    fn option_positions_name_the_intended_options() {
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_some() || std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading an option has no preconditions.
        let read = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(read(ARENA_EAGER_COMMIT), 0, "the compiled-in arena eager commit setting");
        assert_eq!(read(PURGE_DELAY), 1000, "default of the purge delay option");
        configure();
        assert_eq!(read(PURGE_DELAY), 0);
    }
}
