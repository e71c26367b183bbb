//! Parsers for the output of `sacctmgr` and `sshare`, following the Python Keystone server so
//! that both read the same numbers from the same output.
//!
//! Values that cannot be read become 0, because the limit task treats a missing limit or
//! usage as none at all.

use std::collections::BTreeSet;

/// Reads the account names that `sacctmgr show -nP account ... format=Account` prints: every
/// whitespace-separated word, without duplicates. Real Slurm lists `root` too.
pub fn parse_accounts(stdout: &str) -> BTreeSet<String> {
    stdout.split_whitespace().map(str::to_string).collect()
}

/// Reads the billing limit in TRES-minutes from `sacctmgr show -nP association ...
/// format=GrpTRESMins` output, such as `cpu=100,billing=60000`.
///
/// The value is the rest of the line after the first `billing=`. It counts only when it is all
/// ASCII digits and fits in a `u64`. Otherwise, or without `billing=`, the limit is 0.
// NOTE: `billing=60000,gres/gpu=5` reads as 0 because the rest of the line is not a number.
// The Python server reads it the same way, and this keeps the two in step.
pub fn parse_limit_minutes(stdout: &str) -> u64 {
    let Some(start) = stdout.find("billing=") else {
        return 0;
    };
    let rest = &stdout[start + "billing=".len()..];
    let value = rest.split('\n').next().unwrap_or("");
    parse_digits(value)
}

/// Reads the billing usage in TRES-minutes from `sshare -nP ... --format=GrpTRESRaw` output,
/// such as `cpu=1,mem=2,energy=0,node=1,billing=7260,fs/disk=0,vmem=0,pages=0`.
///
/// The first line that has `,fs` somewhere after `billing=` counts, and the value lies between
/// that `billing=` and the last `,fs` of the line. Lines without such a pair, like the
/// `CLUSTER: name` line that real `sshare` prints first, are skipped. A value that is not all
/// ASCII digits, or no such line, reads as 0.
pub fn parse_usage_minutes(stdout: &str) -> u64 {
    for line in stdout.split('\n') {
        let Some(start) = line.find("billing=") else {
            continue;
        };
        let rest = &line[start + "billing=".len()..];
        if let Some(end) = rest.rfind(",fs") {
            return parse_digits(&rest[..end]);
        }
    }
    0
}

/// Parses a non-empty run of ASCII digits. Anything else, or a value past `u64::MAX`, is 0.
fn parse_digits(value: &str) -> u64 {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return 0;
    }
    value.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_split_on_whitespace() {
        let accounts = parse_accounts("team-a\nteam-a\nteam-b\n");
        assert_eq!(accounts.into_iter().collect::<Vec<_>>(), ["team-a", "team-b"]);
        assert!(parse_accounts("").is_empty());
        assert_eq!(parse_accounts("root\n team-a\tteam-b ").len(), 3);
    }

    #[test]
    fn limit_reads_billing_minutes() {
        let cases = [
            ("billing=60000", 60000),
            ("cpu=100,billing=60000", 60000),
            ("billing=60000,gres/gpu=5", 0),
            ("", 0),
            ("cpu=10", 0),
            ("billing=59", 59),
            ("billing=", 0),
            ("billing=-5", 0),
            ("billing=6000\n\n", 6000),
            ("\nbilling=6000\nbilling=1", 6000),
            ("billing=99999999999999999999999", 0),
        ];
        for (stdout, minutes) in cases {
            assert_eq!(parse_limit_minutes(stdout), minutes, "limit output {stdout:?}");
        }
    }

    #[test]
    fn usage_reads_billing_minutes() {
        let cases = [
            ("cpu=1,mem=2,energy=0,node=1,billing=7260,fs/disk=0,vmem=0,pages=0", 7260),
            ("CLUSTER: lab\ncpu=0,mem=0,energy=0,node=0,billing=120,fs/disk=0,vmem=0,pages=0\ncpu=0,billing=60,fs/disk=0", 120),
            ("billing=100\ncpu=1,billing=200,fs/disk=0", 200),
            ("cpu=1,billing=7260,fs/disk=0,x=1,fs/lustre=0", 0),
            ("cpu=1,billing=abc,fs/disk=0", 0),
            ("CLUSTER: lab", 0),
            ("", 0),
        ];
        for (stdout, minutes) in cases {
            assert_eq!(parse_usage_minutes(stdout), minutes, "usage output {stdout:?}");
        }
    }
}
