//! Connection deadlines for the HTTP server, against slow clients ("slowloris").
//!
//! axum's server sets no timer on hyper, so hyper's own header-read timeout never
//! applies, and a client that sends one byte every few seconds would hold a connection
//! (and its task) forever. [`DeadlineListener`] wraps the TCP listener; every
//! connection it hands out is a [`DeadlineStream`] with two rules:
//!
//! - once a request has started arriving, it must be answered (the first byte written)
//!   within [`REQUEST_DEADLINE`], headers and body included;
//! - a connection with no request in progress is closed after [`IDLE_DEADLINE`].
//!
//! A read past its deadline fails with `TimedOut`, and hyper drops the connection. Our
//! handlers answer in well under the deadline: Slack itself gives up after 3 seconds.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// How long a request may take to arrive and be answered.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(8);
/// How long a kept-alive connection may sit without a request.
pub const IDLE_DEADLINE: Duration = Duration::from_secs(60);

/// A TCP listener whose connections carry deadlines; pass it to `axum::serve`.
#[derive(Debug)]
pub struct DeadlineListener {
    inner: TcpListener,
}

impl DeadlineListener {
    pub fn new(inner: TcpListener) -> Self {
        DeadlineListener { inner }
    }
}

impl axum::serve::Listener for DeadlineListener {
    type Io = DeadlineStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (DeadlineStream::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails its reads once its current deadline has passed.
#[derive(Debug)]
pub struct DeadlineStream {
    inner: TcpStream,
    deadline: Pin<Box<Sleep>>,
    /// Bytes of a request were read and no answer has been written yet.
    request_in_progress: bool,
}

impl DeadlineStream {
    fn new(inner: TcpStream) -> Self {
        DeadlineStream { inner, deadline: Box::pin(tokio::time::sleep(IDLE_DEADLINE)), request_in_progress: false }
    }
}

impl AsyncRead for DeadlineStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let filled_before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > filled_before && !self.request_in_progress {
                    self.request_in_progress = true;
                    self.deadline.as_mut().reset(Instant::now() + REQUEST_DEADLINE);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    if self.request_in_progress { "request too slow" } else { "connection idle" },
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for DeadlineStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && self.request_in_progress {
            // The answer is going out: the connection is idle again.
            self.request_in_progress = false;
            self.deadline.as_mut().reset(Instant::now() + IDLE_DEADLINE);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && self.request_in_progress {
            self.request_in_progress = false;
            self.deadline.as_mut().reset(Instant::now() + IDLE_DEADLINE);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
