//! The allocations area: clusters, allocation requests, reviews, resource allocations,
//! attachments and comments.

mod access;
pub mod children;
pub mod choices;
pub mod clusters;
mod input;
mod request_view;
pub mod requests;
pub mod resource_allocations;
pub mod reviews;

use crate::api::{DETAIL, LIST, READ};
use crate::router::{allow_all, Access, Route};

/// Routes of the allocations area.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/allocations/clusters/",
        name: "Cluster List",
        description: "List the clusters the caller's teams may use, or create a cluster (staff only).",
        methods: LIST,
        access: Access::Authenticated,
        permission: clusters::list_permission,
        handler: clusters::list,
    },
    Route {
        path: "/allocations/clusters/{id}/",
        name: "Cluster Instance",
        description: "Read a cluster, or update or delete it (staff only).",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: clusters::detail,
    },
    Route {
        path: "/allocations/cluster-choices/access-mode/",
        name: "Cluster Access Mode Choices",
        description: "Return the cluster access mode codes and their labels.",
        methods: READ,
        access: Access::Authenticated,
        permission: allow_all,
        handler: choices::access_modes,
    },
    Route {
        path: "/allocations/requests/",
        name: "Allocation Request List",
        description: "List the allocation requests of the caller's teams, or submit a request (team owners, team admins and staff).",
        methods: LIST,
        access: Access::Authenticated,
        permission: requests::list_permission,
        handler: requests::list,
    },
    Route {
        path: "/allocations/requests/{id}/",
        name: "Allocation Request Instance",
        description: "Read an allocation request (team members and staff), or update or delete it (staff only).",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: requests::detail,
    },
    Route {
        path: "/allocations/request-choices/status/",
        name: "Allocation Request Status Choices",
        description: "Return the allocation request status codes and their labels.",
        methods: READ,
        access: Access::Authenticated,
        permission: allow_all,
        handler: choices::request_statuses,
    },
    Route {
        path: "/allocations/reviews/",
        name: "Allocation Review List",
        description: "List the reviews of the caller's teams' requests, or review a request (staff only).",
        methods: LIST,
        access: Access::Authenticated,
        permission: reviews::list_permission,
        handler: reviews::list,
    },
    Route {
        path: "/allocations/reviews/{id}/",
        name: "Allocation Review Instance",
        description: "Read a review (team members and staff), or update or delete it (staff only).",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: reviews::detail,
    },
    Route {
        path: "/allocations/review-choices/status/",
        name: "Allocation Review Status Choices",
        description: "Return the review status codes and their labels.",
        methods: READ,
        access: Access::Authenticated,
        permission: allow_all,
        handler: choices::review_statuses,
    },
    Route {
        path: "/allocations/allocations/",
        name: "Resource Allocation List",
        description: "List the resource allocations of the caller's teams, or request service units on a cluster \
                      (team owners and admins on clusters open to the team, and staff).",
        methods: LIST,
        access: Access::Authenticated,
        permission: resource_allocations::list_permission,
        handler: resource_allocations::list,
    },
    Route {
        path: "/allocations/allocations/{id}/",
        name: "Resource Allocation Instance",
        description: "Read a resource allocation (team members and staff), or update or delete it (staff only).",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: resource_allocations::detail,
    },
];
