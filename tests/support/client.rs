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

    /// Returns a client for another server, such as a second process on the same database, that
    /// carries this client's cookies and token.
    pub fn with_base_url(&self, base: String) -> Client {
        Client { session: self.session.clone(), csrf: self.csrf.clone(), token: self.token.clone(), ..Client::new(base) }
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
            .send(
                self.http
                    .post(format!("{}/authentication/login/", self.base))
                    .json(&serde_json::json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "login failed: {}", response.body);
        self.store_cookies(&response);
        response
    }

    /// Keeps the `sessionid` and `csrftoken` values that a response sets.
    pub fn store_cookies(&mut self, response: &Response) {
        for cookie in response.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some(value) = pair.strip_prefix("sessionid=") {
                self.session = Some(value.to_string());
            }
            if let Some(value) = pair.strip_prefix("csrftoken=") {
                self.csrf = Some(value.to_string());
            }
        }
    }
}

/// The alphabet of Django's CSRF tokens, in the order its masking arithmetic uses.
pub const CSRF_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Masks a 32-character CSRF secret the way Django does: the result is `mask` followed by
/// each secret character shifted by the matching mask character, modulo the alphabet.
pub fn mask_csrf_secret(secret: &str, mask: &str) -> String {
    assert_eq!(secret.len(), 32, "a CSRF secret has 32 characters");
    assert_eq!(mask.len(), 32, "a CSRF mask has 32 characters");
    let index = |byte: u8| CSRF_ALPHABET.iter().position(|&candidate| candidate == byte).expect("character is in the CSRF alphabet");
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(secret_byte, mask_byte)| CSRF_ALPHABET[(index(secret_byte) + index(mask_byte)) % CSRF_ALPHABET.len()] as char)
        .collect();
    format!("{mask}{cipher}")
}

/// A response read from a raw TCP exchange.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Returns the first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Writes `request` as is to 127.0.0.1:`port` and reads until the server closes the
/// connection or 10 s pass. Send `Connection: close` so that the server closes after one
/// response. Returns `None` when no parseable HTTP response arrived, for example when the
/// server dropped the connection. A failed write is tolerated, because the server may respond
/// and close before it has read all of an oversized request.
pub async fn raw_request(port: u16, request: &[u8]) -> Option<RawResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let _ = stream.write_all(request).await;
        let mut received = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
        Some(received)
    };
    let received = tokio::time::timeout(std::time::Duration::from_secs(10), exchange).await.ok()??;
    parse_raw_response(&received)
}

fn parse_raw_response(received: &[u8]) -> Option<RawResponse> {
    let end = received.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some(RawResponse { status, headers, body: received[end + 4..].to_vec() })
}
