//! Reads stop when their client goes away. actix-web keeps running a handler after its
//! client has closed the connection (actix/actix-web#3462), so an abandoned costly list
//! would keep its service and a database connection busy until the statement time-out.
//! Each connection gets a watcher on a duplicate of its socket; a GET or HEAD whose peer
//! has closed is dropped, which drops its gRPC call: the service drops its handler and
//! cancels the statement (`cvat_db::CancelOnDrop`). Writes always run to the end, so a
//! change is never left half made. A client that half-closes its side while it waits
//! (rare; curl, browsers and the SDK do not) counts as gone.

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use std::any::Any;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::Duration;

/// The watcher of one connection: the same socket through a second descriptor, so its
/// readiness can be awaited without taking bytes from the HTTP parser.
#[derive(Clone)]
struct Peer(Rc<tokio::net::TcpStream>);

/// `HttpServer::on_connect`: attaches a [`Peer`] to each TCP connection.
pub fn watch(connection: &dyn Any, data: &mut Extensions) {
    let Some(stream) = connection.downcast_ref::<tokio::net::TcpStream>() else { return };
    // The duplicate shares the open file (and so its non-blocking mode) with the original.
    let duplicate = stream.as_fd().try_clone_to_owned().map(std::net::TcpStream::from);
    match duplicate.and_then(tokio::net::TcpStream::from_std) {
        Ok(watcher) => {
            data.insert(Peer(Rc::new(watcher)));
        }
        Err(err) => tracing::debug!(error = %err, "connection not watched for disconnects"),
    }
}

impl Peer {
    /// Resolves once the peer has closed its side: a read would give end of file.
    async fn gone(&self) {
        let mut byte = [0u8; 1];
        loop {
            match self.0.peek(&mut byte).await {
                Ok(0) => return,
                // Bytes the HTTP parser has not taken yet (a pipelined request): look again
                // later; the socket stays readable until they are read.
                Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(_) => return std::future::pending().await,
            }
        }
    }
}

/// Middleware: a read whose client has gone is dropped and logged (status 499, as nginx
/// names it; nobody receives it).
pub async fn stop_abandoned_reads(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_read = matches!(*req.method(), Method::GET | Method::HEAD);
    let peer = req.conn_data::<Peer>().filter(|_| is_read).cloned();
    let Some(peer) = peer else { return next.call(req).await };
    // Only the path is kept: a second handle on the request would stop the inner
    // middleware and the router from adjusting it.
    let path = req.path().to_owned();
    tokio::select! {
        response = next.call(req) => response,
        () = peer.gone() => {
            tracing::info!(%path, "client went away: request dropped");
            Err(ClientGone.into())
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the client closed the connection")]
struct ClientGone;

impl actix_web::ResponseError for ClientGone {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST)
    }
}
