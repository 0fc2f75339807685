//! A deadline on reading a request's body, for every route: a client that sends its headers
//! in time and then trickles the body (or stops) is cut off after `--body-timeout-ms`,
//! instead of holding a connection and its buffers until the request deadline.

use axum::body::{Body, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error a body read past its deadline ends with.
#[derive(Debug)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms (--body-timeout-ms); send it whole \
             and promptly",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimeout {}

/// `body`, ending with [`BodyTimeout`] once `limit` has passed since the request arrived.
pub fn with_deadline(body: Body, limit: Duration) -> Body {
    Body::new(DeadlineBody {
        inner: body,
        sleep: Box::pin(tokio::time::sleep(limit)),
        limit,
    })
}

struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // What has arrived is taken first: a body that is complete is never cut.
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(self.limit))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error`, from reading a body, is its deadline passing.
pub fn is_timeout(error: &axum::Error) -> bool {
    // The error may be wrapped more than once on its way (axum boxes body errors).
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyTimeout>() {
            return true;
        }
        cause = e.source();
    }
    false
}
