//! An HTTP client with a cookie jar and helpers for Keystone's sign-in and CSRF.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A response, read in full.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|value| value.to_str().ok()).map(str::to_string).collect()
    }
}

/// A client bound to one server. Cookies are kept by hand so tests can inspect and forge them.
pub struct Client {
    base: String,
    http: reqwest::Client,
    pub session: Option<String>,
    pub csrf: Option<String>,
    pub token: Option<String>,
}

impl Client {
    pub fn new(base: String) -> Client {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client builds");
        Client { base, http, session: None, csrf: None, token: None }
    }

    /// Builds a request with the stored cookies and token; the CSRF header is added by callers.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{path}", self.base));
        let mut cookies = Vec::new();
        if let Some(session) = &self.session {
            cookies.push(format!("sessionid={session}"));
        }
        if let Some(csrf) = &self.csrf {
            cookies.push(format!("csrftoken={csrf}"));
        }
        if !cookies.is_empty() {
            builder = builder.header("Cookie", cookies.join("; "));
        }
        if let Some(token) = &self.token {
            builder = builder.header("Authorization", format!("Token {token}"));
        }
        builder
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Response {
        let response = builder.send().await.expect("request failed");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body readable");
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(Method::GET, path)).await
    }

    /// Sends JSON with the CSRF header when the client holds a CSRF cookie.
    pub async fn json(&self, method: Method, path: &str, body: &Value) -> Response {
        let mut builder = self.request(method, path).json(body);
        if let Some(csrf) = &self.csrf {
            builder = builder.header("X-CSRFToken", csrf);
        }
        self.send(builder).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.json(Method::POST, path, body).await
    }

    /// Signs in and keeps the session and CSRF cookies; panics unless the server answers 200.
    pub async fn login(&mut self, username: &str, password: &str) -> Response {
        let response = self
            .send(self.http.post(format!("{}/authentication/login/", self.base)).json(&serde_json::json!({"username": username, "password": password})))
            .await;
        assert_eq!(response.status, StatusCode::OK, "login failed: {}", response.body);
        for cookie in response.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some(value) = pair.strip_prefix("sessionid=") {
                self.session = Some(value.to_string());
            }
            if let Some(value) = pair.strip_prefix("csrftoken=") {
                self.csrf = Some(value.to_string());
            }
        }
        response
    }
}
