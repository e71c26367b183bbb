//! Allocation lists cost a fixed number of database statements per request, whatever the page
//! size: the server reports its count in `X-Keystone-Queries` when `KEYSTONE_DEBUG_QUERIES`
//! is set.

#[path = "../fixtures/allocations/world.rs"]
mod world;

use keystone_blackbox::{Backend, Client, TestServer};
use reqwest::StatusCode;
use world::{client_for, World};

/// Requests in the fixture; more than the small page size and fewer than the large one.
const REQUESTS: usize = 24;
/// The maximum number of statements a list request may cost.
const MAX_QUERIES: usize = 15;

/// Fetches `path` and returns the number of results and the statement count.
async fn measure(client: &Client, path: &str) -> (usize, usize) {
    let response = client.get(path).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    let queries = response
        .header("x-keystone-queries")
        .unwrap_or_else(|| panic!("{path}: no X-Keystone-Queries header"))
        .parse::<usize>()
        .expect("the header is a number");
    let results = response.json()["results"].as_array().map(Vec::len).unwrap_or(0);
    (results, queries)
}

async fn run(backend: Backend) {
    let server = TestServer::builder(backend).env("KEYSTONE_DEBUG_QUERIES", "true").start().await;
    let world = World::create(&server).await;
    let clusters = [world.cluster("Query A", "OP", &[]).await, world.cluster("Query B", "WL", &[world.team_a]).await];
    for index in 0..6 {
        world.cluster(&format!("Query idle {index}"), "BL", &[world.team_b]).await;
    }
    for index in 0..REQUESTS {
        let request = world.request(world.team_a, &format!("Request {index:02}")).await;
        let grants = [
            world.grant(world.team_a, &format!("Grant {index} b"), 100).await,
            world.grant(world.team_a, &format!("Grant {index} a"), 250).await,
        ];
        let publications = [
            world.publication(world.team_a, &format!("Paper {index} b")).await,
            world.publication(world.team_a, &format!("Paper {index} a")).await,
        ];
        world.link(request, &[world.member.id, world.admin.id], &publications, &grants).await;
        for cluster in clusters {
            world.allocation(request, cluster, 100).await;
        }
        world.comment(request, world.member.id, "Public", false).await;
        world.comment(request, world.staff.id, "Private", true).await;
        world.attachment(request, &format!("file-{index}.pdf")).await;
        world.review(request).await;
    }

    let paths = ["/allocations/requests/", "/allocations/clusters/", "/allocations/reviews/", "/allocations/allocations/"];
    for actor in [&world.staff, &world.member] {
        let client = client_for(&server, actor);
        for path in paths {
            let (small_page, small_queries) = measure(&client, &format!("{path}?_limit=5")).await;
            let (large_page, large_queries) = measure(&client, &format!("{path}?_limit=100")).await;
            println!(
                "{backend:?} {} {path}: {small_queries} statements for {small_page} results, {large_queries} for {large_page}",
                actor.label
            );
            assert_eq!(small_queries, large_queries, "{backend:?} {} {path}: the statement count depends on the page size", actor.label);
            assert!(small_queries <= MAX_QUERIES, "{backend:?} {} {path}: {small_queries} statements", actor.label);
            assert_eq!(small_page, 5, "{backend:?} {} {path}", actor.label);
            assert!(large_page > small_page, "{backend:?} {} {path}: the large page holds {large_page} results", actor.label);
            if path == "/allocations/requests/" {
                assert_eq!(large_page, REQUESTS, "{backend:?} {}", actor.label);
            }
        }
    }
    world.db.close().await;
}

#[tokio::test]
async fn fixed_queries_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn fixed_queries_postgres() {
    run(Backend::Postgres).await;
}
