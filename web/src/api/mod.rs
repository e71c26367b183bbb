//! API routes, one module per area.

pub mod allocations;
pub mod authentication;
pub mod fields;
pub mod health;
pub mod listing;
pub mod loaders;
pub mod logs;
pub mod research;
pub mod root;
pub mod users;

use warp::http::Method;

use crate::router::{allow_all, Access, Route};

pub const LIST: &[Method] = &[Method::GET, Method::POST];
pub const DETAIL: &[Method] = &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
pub const READ: &[Method] = &[Method::GET];

/// Routes of every area, matched in order.
pub static AREAS: &[&[Route]] =
    &[ROUTES, allocations::ROUTES, allocations::children::ROUTES, research::ROUTES, logs::ROUTES, crate::openapi::ROUTES];

/// Sign-in, version, configuration and the users area.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/version/",
        name: "Version",
        description: "Return the API version number.",
        methods: &[Method::GET],
        access: Access::Public,
        permission: allow_all,
        handler: root::version,
    },
    Route {
        path: "/config/",
        name: "Config",
        description: "Return server settings that clients need: upload limits, allowed file types and session age.",
        methods: &[Method::GET],
        access: Access::Authenticated,
        permission: allow_all,
        handler: root::config,
    },
    Route {
        path: "/authentication/login/",
        name: "Login",
        description: "Authenticate a user and start a session.",
        methods: &[Method::POST],
        access: Access::Public,
        permission: allow_all,
        handler: authentication::login,
    },
    Route {
        path: "/authentication/logout/",
        name: "Logout",
        description: "End the current session.",
        methods: &[Method::POST],
        access: Access::Authenticated,
        permission: allow_all,
        handler: authentication::logout,
    },
    Route {
        path: "/authentication/whoami/",
        name: "Who Am I",
        description: "Return the authenticated user.",
        methods: &[Method::GET],
        access: Access::Authenticated,
        permission: allow_all,
        handler: authentication::whoami,
    },
    Route {
        path: "/users/users/",
        name: "User List",
        description: "List users, or create one (staff only).",
        methods: LIST,
        access: Access::Authenticated,
        permission: users::users::list_permission,
        handler: users::users::list,
    },
    Route {
        path: "/users/users/{id}/",
        name: "User Instance",
        description: "Read, update or delete a user. Non-staff may change only their own record.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: users::users::detail,
    },
    Route {
        path: "/users/teams/",
        name: "Team List",
        description: "List the teams visible to the caller, or create a team.",
        methods: LIST,
        access: Access::Authenticated,
        permission: allow_all,
        handler: users::teams::list,
    },
    Route {
        path: "/users/teams/{id}/",
        name: "Team Instance",
        description: "Read, update or delete a team. Changes need a team owner, a team admin or staff.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: users::teams::detail,
    },
    Route {
        path: "/users/memberships/",
        name: "Membership List",
        description: "List team memberships, or add a user to a team.",
        methods: LIST,
        access: Access::Authenticated,
        permission: users::memberships::permission,
        handler: users::memberships::list,
    },
    Route {
        path: "/users/memberships/{id}/",
        name: "Membership Instance",
        description: "Read, update or delete a team membership.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: users::memberships::permission,
        handler: users::memberships::detail,
    },
    Route {
        path: "/users/membership-choices/role/",
        name: "Membership Role Choices",
        description: "Return the membership role codes and their labels.",
        methods: READ,
        access: Access::Authenticated,
        permission: allow_all,
        handler: users::memberships::role_choices,
    },
    Route {
        path: "/health/",
        name: "Health",
        description: "Answer 200 when every health check passes, else 500, with an empty body.",
        methods: READ,
        access: Access::Public,
        permission: allow_all,
        handler: health::summary,
    },
    Route {
        path: "/health/json/",
        name: "Health Json",
        description: "Return the outcome of every health check as JSON.",
        methods: READ,
        access: Access::Public,
        permission: allow_all,
        handler: health::json,
    },
    Route {
        path: "/health/prom/",
        name: "Health Prom",
        description: "Return the outcome of every health check in the Prometheus text format.",
        methods: READ,
        access: Access::Public,
        permission: allow_all,
        handler: health::prometheus,
    },
];
