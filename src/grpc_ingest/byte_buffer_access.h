// byte_buffer_access: the core buffer behind a grpc::ByteBuffer. gRPC hides it, but we need its
// raw slices and its compression flag: to use a single slice in place, and to inflate a gzip
// message with our bounded decoder rather than gRPC's unbounded one (ByteBuffer::Dump inflates a
// compressed buffer whole). grpc::internal::GrpcByteBufferPeer is the friend gRPC declares for
// exactly this access and leaves to its users (its own tests) to define; it is defined here
// once, header-only, so the receiver and the tests' client (which sends pre-compressed bombs)
// share one definition. Stateless; thread-safety is the ByteBuffer's.
#pragma once

#include <grpc/byte_buffer.h>
#include <grpcpp/support/byte_buffer.h>

namespace grpc::internal {
class GrpcByteBufferPeer {
  public:
    explicit GrpcByteBufferPeer(ByteBuffer* b) : b_(b) {}
    grpc_byte_buffer* c_buffer() { return b_->c_buffer(); }
    void set_buffer(grpc_byte_buffer* c) { b_->set_buffer(c); }

  private:
    ByteBuffer* b_;
};
}  // namespace grpc::internal

namespace mg::grpc_ingest {

// The core buffer (null when the ByteBuffer holds none); owned by `b`.
inline grpc_byte_buffer* core_buffer(grpc::ByteBuffer& b) {
    return grpc::internal::GrpcByteBufferPeer(&b).c_buffer();
}
// Hands `c` (owned from now on by `b`) to `b`.
inline void adopt_core_buffer(grpc::ByteBuffer& b, grpc_byte_buffer* c) {
    grpc::internal::GrpcByteBufferPeer(&b).set_buffer(c);
}

}  // namespace mg::grpc_ingest
