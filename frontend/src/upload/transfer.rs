//! The browser's side of a transfer: one S3 request through `XMLHttpRequest` (the only browser API that
//! reports upload progress), waiting, reading S3's XML answers, the clock and random bytes.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, DomParser, Event, ProgressEvent, SupportedType, XmlHttpRequest};

/// What a request carries.
pub enum Body {
    /// Nothing.
    Empty,
    /// Bytes of the file, sent by the browser straight from disk.
    Blob(Blob),
    /// A short text (S3's XML).
    Text(String),
}

/// S3's answer to a request that reached it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `ETag` header (exposed by the bucket's CORS rule).
    pub etag: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// The network failed, or the browser refused the answer (CORS).
    Network,
    /// The request was aborted (the upload was cancelled).
    Aborted,
}

/// The requests in flight, so a cancellation can abort them all.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Rc<RefCell<Vec<XmlHttpRequest>>>);

impl InFlight {
    /// Aborts every request in flight; each then ends with [`NoAnswer::Aborted`].
    pub fn abort_all(&self) {
        let requests = std::mem::take(&mut *self.0.borrow_mut());
        for request in requests {
            let _ = request.abort();
        }
    }

    fn add(&self, request: &XmlHttpRequest) {
        self.0.borrow_mut().push(request.clone());
    }

    fn remove(&self, request: &XmlHttpRequest) {
        self.0
            .borrow_mut()
            .retain(|other| !js_sys::Object::is(other, request));
    }
}

/// Sends `method url` with `headers` and `body`, reporting the bytes of the body sent so far to
/// `on_progress`, and waits for the answer.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Body,
    in_flight: &InFlight,
    on_progress: Option<Box<dyn FnMut(f64)>>,
) -> Result<Answer, NoAnswer> {
    let request = XmlHttpRequest::new().map_err(|_| NoAnswer::Network)?;
    request
        .open_with_async(method, url, true)
        .map_err(|_| NoAnswer::Network)?;
    for (name, value) in headers {
        request
            .set_request_header(name, value)
            .map_err(|_| NoAnswer::Network)?;
    }
    // The closure must outlive the request; it is dropped once the answer is in.
    let progress = on_progress.map(|mut report| {
        Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| report(event.loaded()))
    });
    if let (Some(progress), Ok(upload)) = (&progress, request.upload()) {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = Promise::new(&mut |resolve, reject| {
        request.set_onload(Some(&resolve));
        request.set_onerror(Some(&reject));
        request.set_onabort(Some(&reject));
        request.set_ontimeout(Some(&reject));
    });
    in_flight.add(&request);
    let sent = match &body {
        Body::Empty => request.send(),
        Body::Blob(blob) => request.send_with_opt_blob(Some(blob)),
        Body::Text(text) => request.send_with_opt_str(Some(text)),
    };
    let outcome = match sent {
        Ok(()) => JsFuture::from(done).await,
        Err(error) => Err(error),
    };
    in_flight.remove(&request);
    drop(progress);
    match outcome {
        Ok(_) => Ok(Answer {
            status: request.status().unwrap_or(0),
            etag: request.get_response_header("ETag").ok().flatten(),
            body: request.response_text().ok().flatten().unwrap_or_default(),
        }),
        Err(event) => {
            let aborted = event
                .dyn_ref::<Event>()
                .is_some_and(|event| event.type_() == "abort");
            Err(if aborted {
                NoAnswer::Aborted
            } else {
                NoAnswer::Network
            })
        }
    }
}

/// Waits `milliseconds`.
pub async fn sleep(milliseconds: i32) {
    let waited = Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, milliseconds);
        }
    });
    let _ = JsFuture::from(waited).await;
}

/// The text of the first `element` of an XML document, read with the browser's own parser.
pub fn xml_text(xml: &str, element: &str) -> Option<String> {
    let document = DomParser::new()
        .ok()?
        .parse_from_string(xml, SupportedType::ApplicationXml)
        .ok()?;
    document
        .get_elements_by_tag_name(element)
        .item(0)?
        .text_content()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// An RFC 3339 time as milliseconds since the epoch (`NaN` when unreadable).
pub fn parse_time_ms(rfc3339: &str) -> f64 {
    js_sys::Date::parse(rfc3339)
}

/// 16 random bytes from the browser's cryptographic generator.
pub fn random_bytes() -> Option<[u8; 16]> {
    let mut bytes = [0u8; 16];
    web_sys::window()?
        .crypto()
        .ok()?
        .get_random_values_with_u8_array(&mut bytes)
        .ok()?;
    Some(bytes)
}
