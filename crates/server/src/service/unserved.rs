//! The RPCs Quiver does not serve answer like the ones it does: gRPC OK with a Milvus
//! `Status` (code 10, Milvus's `ErrServiceUnimplemented`) naming the RPC, where the RPC's
//! reply carries its Status. A bare gRPC UNIMPLEMENTED is not enough: the Node SDK turns
//! it into success, so its `truncateCollection` "succeeded" and nothing happened.
//!
//! Which RPCs, and where each reply holds its Status, come from pymilvus 3.0.2's
//! descriptors ([`UNSERVED`], generated with the proto subset as the complement of
//! `rpcs.txt`): every RPC is served by a handler or answered here, and serving one more
//! stays a line in `rpcs.txt`. The reply is encoded from the Status and its field number
//! alone, so the wire types of the 80-odd unserved RPCs are not compiled in.
//!
//! RPCs whose reply has no Status field (`Dummy` and three replication calls) answer
//! gRPC UNIMPLEMENTED with the same words: there is nowhere else to put them.

use crate::status;
use bytes::Buf;
use quiver_proto::StatusAt;
use quiver_proto::unserved::UNSERVED;
use std::convert::Infallible;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{Grpc, NamedService, UnaryService};

/// The MilvusService server `S` with every unserved RPC answered (see the module doc).
#[derive(Clone)]
pub struct WithUnserved<S> {
    served: S,
    max_message_bytes: usize,
}

impl<S> WithUnserved<S> {
    /// Requests up to `max_message_bytes` are read (and dropped) before the answer, as
    /// the served RPCs read theirs.
    pub fn new(served: S, max_message_bytes: usize) -> Self {
        WithUnserved { served, max_message_bytes }
    }
}

impl<S: NamedService> NamedService for WithUnserved<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for WithUnserved<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + NamedService,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<http::Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.served.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path();
        let method = path.strip_prefix('/').and_then(|p| p.strip_prefix(S::NAME)).and_then(|p| p.strip_prefix('/')).unwrap_or_default();
        match UNSERVED.binary_search_by(|(name, _)| name.cmp(&method)) {
            Ok(i) => Box::pin(answer(UNSERVED[i].0, UNSERVED[i].1, self.max_message_bytes, request)),
            Err(_) => Box::pin(self.served.call(request)),
        }
    }
}

async fn answer(
    rpc: &'static str,
    at: StatusAt,
    max_message_bytes: usize,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, Infallible> {
    let status = status::unserved(rpc);
    let field = match at {
        StatusAt::Reply => None,
        StatusAt::Field(number) => Some(number),
        StatusAt::Nowhere => return Ok(tonic::Status::unimplemented(status.reason).into_http()),
    };
    let mut grpc = Grpc::new(RawCodec).apply_max_message_size_config(Some(max_message_bytes), None);
    Ok(grpc.unary(Reply(reply_bytes(&status, field)), request).await)
}

/// The encoded reply: the Status itself, or a message whose field `field` is the Status
/// (every other field left at its default, which protobuf encodes as nothing).
fn reply_bytes(status: &quiver_proto::common::Status, field: Option<u32>) -> Vec<u8> {
    use prost::Message;
    match field {
        None => status.encode_to_vec(),
        Some(number) => {
            // The key of a length-delimited field: its number, wire type 2.
            let mut out = Vec::with_capacity(status.encoded_len() + 8);
            put_varint(&mut out, (u64::from(number) << 3) | 2);
            out.extend(status.encode_length_delimited_to_vec());
            out
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Answers every request with the same encoded reply.
struct Reply(Vec<u8>);

impl UnaryService<()> for Reply {
    type Response = Vec<u8>;
    type Future = BoxFuture<tonic::Response<Vec<u8>>, tonic::Status>;

    fn call(&mut self, _: tonic::Request<()>) -> Self::Future {
        let reply = std::mem::take(&mut self.0);
        Box::pin(async move { Ok(tonic::Response::new(reply)) })
    }
}

/// Writes replies encoded ahead; skips requests unread (their type is not compiled in).
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        src.advance(src.remaining());
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use quiver_proto::common::Status;
    use quiver_proto::milvus::BoolResponse;

    #[derive(Clone, PartialEq, prost::Message)]
    struct StatusAtThree {
        #[prost(string, tag = "1")]
        other: String,
        #[prost(message, optional, tag = "3")]
        status: Option<Status>,
    }

    #[test]
    fn replies_decode_with_the_status_where_the_reply_type_has_it() {
        let status = status::unserved("TruncateCollection");
        assert_eq!(Status::decode(reply_bytes(&status, None).as_slice()).unwrap(), status);
        assert_eq!(BoolResponse::decode(reply_bytes(&status, Some(1)).as_slice()).unwrap().status, Some(status.clone()));
        let at_three = StatusAtThree::decode(reply_bytes(&status, Some(3)).as_slice()).unwrap();
        assert_eq!((at_three.other.as_str(), at_three.status), ("", Some(status)));
    }

    #[test]
    fn field_keys_past_one_byte_are_varints() {
        let status = status::unserved("X");
        let bytes = reply_bytes(&status, Some(300));
        assert_eq!(&bytes[..2], &[(300u32 << 3 | 2) as u8 | 0x80, ((300u32 << 3 | 2) >> 7) as u8]);
    }

    #[test]
    fn the_table_is_sorted_for_lookup() {
        assert!(UNSERVED.windows(2).all(|w| w[0].0 < w[1].0), "subset.py writes UNSERVED sorted by name");
    }
}
