//! Clusters, allocation requests, reviews and resource allocations.
