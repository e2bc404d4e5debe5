#pragma once
// The inside of remote_dataset (serialake/remote.hpp): the channel, unary calls
// and the Append stream. remote_dataset and the dataset handle's remote backend
// (service/remote_backend.cpp) both append through it.
//
// Appends. One Append stream per client, started by the first append. push()
// queues an append's rows with what to call on its acknowledgement and returns;
// the sender thread takes queued appends (up to batch_bytes) as one batch,
// files their callbacks under the batch's seq, and writes it; gRPC's Write
// blocks under HTTP/2 flow control when the server stops reading, and push()
// waits once window_bytes are outstanding, so memory stays bounded. The
// receiver thread reads the replies and calls the callbacks of each batch
// (first + i for the append whose first row is row i of the batch). When the
// stream breaks, every callback still filed or queued gets the stream's error.
//
// A caller with its own queue (the dataset handle's ingest_queue) sets refill
// and pokes the sender instead of pushing from its producers: the sender takes
// from that queue itself, so an append costs one thread hand-off, not two.
//
// Indices. The server reports the index of a batch's first row: the index
// its first tensor's sample got. Row i of the batch has index first + i only
// if every row before it starts with the same tensor, so a batch holds only
// appends whose rows all start with one tensor (an append mixing first
// tensors goes in a batch of its own).

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "serialake/remote.hpp"
#include "service/convert.hpp"
#include "service/serialake.grpc.pb.h"

namespace serialake {

struct remote_dataset::impl {
  /// What an append's acknowledgement calls, on the receiver thread: with the
  /// index of its first row, or with the error (then `first` is 0).
  using on_ack = std::function<void(uint64_t first, const error* e)>;

  std::string uri;
  std::string target;  // host:port
  std::string name;    // the dataset on the server
  remote_options opts;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Serialake::Stub> stub;
  /// Called on the receiver thread after the callbacks of each reply (and of a
  /// broken stream); set before the first append.
  std::function<void()> after_acks;
  /// For a caller with a queue of its own (the dataset handle's): called on
  /// the sender thread, outside mtx, before each batch is formed, to push()
  /// what that queue holds; poke() makes the sender call it. Set before the
  /// first poke() or push().
  std::function<void()> refill;

  impl(const std::string& u, remote_options o);
  ~impl();

  /// Adds the token (and with `deadline`, opts.deadline) to a call.
  void prepare(grpc::ClientContext& ctx, bool deadline) const;

  /// A unary call; throws its error, `what` and the URI naming it.
  template <class Req, class Rep, class Method>
  Rep call(Method m, const Req& req, const char* what) {
    grpc::ClientContext ctx;
    prepare(ctx, true);
    Rep rep;
    grpc::Status s = (stub.get()->*m)(&ctx, req, &rep);
    if (!s.ok()) throw service::from_status(s, std::string(what) + " " + uri);
    return rep;
  }

  /// One append: its rows, and what its acknowledgement calls.
  struct append {
    std::vector<row> rows;
    on_ack done;
  };
  /// Queues `appends`, in order, each an append of its own, taking the lock
  /// once; each `done` is called once its append is acknowledged or failed.
  /// Throws (and then calls no `done`) if the client is closed, the stream
  /// broken, or the window stays full past the deadline.
  void push(std::vector<append> appends);
  /// Waits until every append made so far is acknowledged (or failed); throws
  /// the error that broke the stream.
  void drain();
  /// drain(), then ends the stream and joins its threads; rethrows the error
  /// that broke it. Idempotent.
  void close();
  /// Has the sender call refill (starting the stream if needed); false if
  /// the stream is closing or broken: then no sender will (the caller fails
  /// what it queued by pushing it: push throws). Never throws.
  bool poke() noexcept;

 private:
  struct queued {
    std::vector<row> rows;
    on_ack done;
    size_t bytes;
    std::optional<std::string> first_tensor;  // the tensor all its rows start with (none: mixed)
  };
  using filed = std::pair<on_ack, uint64_t>;  // a sent append and its first row's place in the batch

  void start();  // REQUIRES: mtx held
  void send_loop();
  void receive_loop();
  void fail_all(const error& e);
  // Every append made so far acknowledged and its callback run. REQUIRES: mtx held.
  bool idle() const { return queue.empty() && sent.empty() && acking == 0; }

  std::mutex mtx;  // guards what follows
  std::condition_variable cv;
  std::deque<queued> queue;                     // not yet sent
  std::map<uint64_t, std::vector<filed>> sent;  // by seq: sent, not yet acknowledged
  std::map<uint64_t, size_t> sent_bytes;
  size_t outstanding = 0;  // bytes queued or sent, unacknowledged
  int acking = 0;          // replies whose callbacks run right now
  uint64_t next_seq = 0;
  bool started = false;
  bool closing = false;
  bool poked = false;  // refill has something to take
  std::optional<error> broken;
  std::unique_ptr<grpc::ClientContext> stream_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AppendRequest, v1::AppendReply>> stream;
  std::thread sender, receiver;
};

}  // namespace serialake
