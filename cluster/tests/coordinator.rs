//! The shared behaviour suite, run against `LocalCoordinator` and against `RedisCoordinator`.
//!
//! The Redis half needs a Redis server (see `support`), and it fails, rather than skips, without one.

mod support;

use support::{behaviours, run_local, run_redis};

/// Defines one test per behaviour in module `local` and one in module `redis`.
macro_rules! behaviour_tests {
    ($($behaviour:ident),+ $(,)?) => {
        mod local {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    run_local(behaviours::$behaviour).await;
                }
            )+
        }

        mod redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    run_redis(behaviours::$behaviour).await;
                }
            )+
        }
    };
}

behaviour_tests!(
    node_registry,
    leader_election,
    deduplication,
    claim_ack_fail_and_dead_letter,
    claim_order,
    stale_claim_after_reclaim,
    visibility_timeout,
    tick_marked_once_across_leaders,
    throttle_shared_between_nodes,
    single_flight_lock,
    queue_depth,
    huge_durations,
);
