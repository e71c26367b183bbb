//! API routes, one module per area.

pub mod authentication;
pub mod loaders;
pub mod root;

use warp::http::Method;

use crate::router::{Access, Route};

/// Every API route, matched in order.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/version/",
        name: "Version",
        description: "Return the API version number.",
        methods: &[Method::GET],
        access: Access::Public,
        handler: root::version,
    },
    Route {
        path: "/config/",
        name: "Config",
        description: "Return server settings that clients need: upload limits, allowed file types and session age.",
        methods: &[Method::GET],
        access: Access::Authenticated,
        handler: root::config,
    },
    Route {
        path: "/authentication/login/",
        name: "Login",
        description: "Authenticate a user and start a session.",
        methods: &[Method::POST],
        access: Access::Public,
        handler: authentication::login,
    },
    Route {
        path: "/authentication/logout/",
        name: "Logout",
        description: "End the current session.",
        methods: &[Method::POST],
        access: Access::Authenticated,
        handler: authentication::logout,
    },
    Route {
        path: "/authentication/whoami/",
        name: "Who Am I",
        description: "Return the authenticated user.",
        methods: &[Method::GET],
        access: Access::Authenticated,
        handler: authentication::whoami,
    },
];
