//! The logs area, for staff: request records, audit entries, task results and a feed that
//! merges the three, newest first.

mod audit;
mod feed;
mod requests;
mod tasks;

use futures::future::BoxFuture;
use warp::http::Method;

use crate::api::READ;
use crate::error::ApiError;
use crate::router::{Access, Context, Route};

/// Reading logs needs staff; other methods fall through to 405.
pub fn permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let reading = matches!(context.request.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if reading && !context.is_staff() {
            return Err(ApiError::PermissionDenied);
        }
        Ok(())
    })
}

/// Routes of the logs area.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/logs/requests/",
        name: "Request Log List",
        description: "List HTTP request records.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: requests::list,
    },
    Route {
        path: "/logs/requests/{id}/",
        name: "Request Log Instance",
        description: "Read one HTTP request record.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: requests::detail,
    },
    Route {
        path: "/logs/audit/",
        name: "Audit Log List",
        description: "List audit records of changes to users, teams, allocations and research products.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: audit::list,
    },
    Route {
        path: "/logs/audit/{id}/",
        name: "Audit Log Instance",
        description: "Read one audit record.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: audit::detail,
    },
    Route {
        path: "/logs/tasks/",
        name: "Task Result List",
        description: "List background task runs.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: tasks::list,
    },
    Route {
        path: "/logs/tasks/{id}/",
        name: "Task Result Instance",
        description: "Read one background task run.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: tasks::detail,
    },
    Route {
        path: "/logs/feed/",
        name: "Feed",
        description: "List request, task and audit records together, newest first.",
        methods: READ,
        access: Access::Authenticated,
        permission,
        handler: feed::list,
    },
];
