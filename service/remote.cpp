// remote_dataset (serialake/remote.hpp): the client of service/serialake.proto.
// Its inside, and how appends are streamed: service/remote_impl.hpp.

#include "serialake/remote.hpp"

#include <cstdlib>

#include "core/file_io.hpp"
#include "service/auth.hpp"
#include "service/remote_impl.hpp"

namespace serialake {

namespace {

using namespace service;

constexpr std::string_view scheme = "serialake://";

// Continuations of remote_dataset's futures run on the thread that completes
// them (the receiver), which is never an appending thread.
struct inline_executor final : detail::executor {
  void post(std::function<void()> fn) override { fn(); }
};

struct parsed_uri {
  std::string target;  // host:port
  std::string name;
};

parsed_uri parse(const std::string& uri) {
  if (!is_remote_uri(uri)) throw error(errc::invalid_argument, "'" + uri + "' is not a serialake:// URI");
  const size_t slash = uri.find('/', scheme.size());
  parsed_uri p;
  p.target = uri.substr(scheme.size(), slash == std::string::npos ? std::string::npos : slash - scheme.size());
  if (slash != std::string::npos) p.name = uri.substr(slash + 1);
  if (p.target.empty() || p.target.find(':') == std::string::npos)
    throw error(errc::invalid_argument, "URI " + uri + " names no host:port");
  if (p.name.empty()) throw error(errc::invalid_argument, "URI " + uri + " names no dataset");
  return p;
}

size_t row_bytes(const row& r) {
  size_t n = 0;
  for (auto& [t, s] : r) n += t.size() + s.data.size() + 8 * s.shape.size() + 16;
  return n;
}

}  // namespace

bool is_remote_uri(std::string_view path) noexcept { return path.substr(0, scheme.size()) == scheme; }

std::string remote_token(const std::string& token_file) {
  if (!token_file.empty()) return read_token_file(token_file);
  const char* env = std::getenv("SERIALAKE_TOKEN");
  return env ? env : "";
}

remote_dataset::impl::impl(const std::string& u, remote_options o) : uri(u), opts(std::move(o)) {
  parsed_uri where = parse(u);
  target = std::move(where.target);
  name = std::move(where.name);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (opts.tls_ca.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = io::read_file(opts.tls_ca);
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  channel = grpc::CreateCustomChannel(target, creds, args);
  stub = v1::Serialake::NewStub(channel);
}

remote_dataset::impl::~impl() {
  try {
    close();
  } catch (const error&) {
    // The destructor cannot report it; close() did for callers who asked.
  }
}

void remote_dataset::impl::prepare(grpc::ClientContext& ctx, bool deadline) const {
  if (!opts.token.empty()) ctx.AddMetadata(auth_key, std::string(bearer) + opts.token);
  if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + opts.deadline);
}

void remote_dataset::impl::push(std::vector<append> appends) {
  std::vector<queued> qs;
  qs.reserve(appends.size());
  size_t bytes = 0;
  for (auto& a : appends) {
    queued q{std::move(a.rows), std::move(a.done), 0, std::nullopt};
    for (auto& r : q.rows) {
      q.bytes += row_bytes(r);
      const std::string_view t = r.empty() ? std::string_view() : std::string_view(r.front().first);
      if (&r == &q.rows.front())
        q.first_tensor = std::string(t);
      else if (q.first_tensor && *q.first_tensor != t)
        q.first_tensor.reset();
    }
    bytes += q.bytes;
    qs.push_back(std::move(q));
  }
  std::unique_lock<std::mutex> lk(mtx);
  if (closing) throw error(errc::closed, "remote dataset " + uri + " is closed");
  if (broken) throw *broken;
  if (!started) start();
  // Bounded memory: wait for acknowledgements once the window is full (rows
  // larger than the window go alone).
  if (!cv.wait_for(lk, opts.deadline, [&] { return broken || outstanding == 0 || outstanding + bytes <= opts.window_bytes; }))
    throw error(errc::timeout, "append to " + uri + ": no room in the window of " +
                                   std::to_string(opts.window_bytes) + " bytes within the deadline");
  if (broken) throw *broken;
  outstanding += bytes;
  for (auto& q : qs) queue.push_back(std::move(q));
  cv.notify_all();
}

void remote_dataset::impl::start() {
  started = true;
  stream_ctx = std::make_unique<grpc::ClientContext>();
  prepare(*stream_ctx, false);
  stream = stub->Append(stream_ctx.get());
  sender = std::thread([this] { send_loop(); });
  receiver = std::thread([this] { receive_loop(); });
}

bool remote_dataset::impl::poke() noexcept {
  try {
    {
      std::lock_guard<std::mutex> g(mtx);
      if (closing || broken) return false;
      if (!started) start();
      poked = true;
    }
    cv.notify_all();
  } catch (...) {
    // No thread for the stream (out of resources): the append stays queued
    // for the next poke, flush or close.
  }
  return true;
}

void remote_dataset::impl::send_loop() {
  bool first = true;
  for (;;) {
    if (refill) refill();
    v1::AppendRequest req;
    {
      std::unique_lock<std::mutex> lk(mtx);
      cv.wait(lk, [&] { return !queue.empty() || closing || broken || poked; });
      if (broken) return;
      poked = false;  // refill runs again before the next batch anyway
      if (queue.empty()) {
        if (closing) break;  // all sent
        continue;            // poked: refill
      }
      const uint64_t seq = next_seq++;
      req.set_seq(seq);
      req.set_durable(opts.durable);
      if (first) req.set_name(name);
      auto& acks = sent[seq];
      const std::optional<std::string> key = queue.front().first_tensor;
      size_t bytes = 0;
      while (!queue.empty() &&
             (acks.empty() || (key && queue.front().first_tensor == key && bytes + queue.front().bytes <= opts.batch_bytes))) {
        auto& q = queue.front();
        acks.emplace_back(std::move(q.done), static_cast<uint64_t>(req.rows_size()));
        for (auto& r : q.rows) {
          auto* pr = req.add_rows();
          for (auto& [t, smp] : r) {
            auto* c = pr->add_cells();
            c->set_tensor(t);
            service::to_proto(smp, *c->mutable_sample());
          }
        }
        bytes += q.bytes;
        queue.pop_front();
      }
      sent_bytes[seq] = bytes;
    }
    first = false;
    if (!stream->Write(req)) return;  // broken: the receiver reads why
  }
  stream->WritesDone();
}

void remote_dataset::impl::receive_loop() {
  v1::AppendReply rep;
  while (stream->Read(&rep)) {
    std::vector<filed> acks;
    {
      std::lock_guard<std::mutex> g(mtx);
      auto it = sent.find(rep.seq());
      if (it == sent.end()) continue;  // not ours: ignore
      acks = std::move(it->second);
      sent.erase(it);
      outstanding -= sent_bytes[rep.seq()];
      sent_bytes.erase(rep.seq());
      ++acking;
    }
    if (rep.has_error()) {
      error e = service::from_proto(rep.error());
      for (auto& [done, offset] : acks) done(0, &e);
    } else {
      for (auto& [done, offset] : acks) done(rep.first() + offset, nullptr);
    }
    if (after_acks) after_acks();
    {
      std::lock_guard<std::mutex> g(mtx);
      --acking;  // drain() returns once the callbacks of what it waited for ran
    }
    cv.notify_all();
  }
  grpc::Status s = stream->Finish();
  fail_all(s.ok() ? error(errc::closed, "the server ended the append stream of " + uri)
                  : service::from_status(s, "append stream of " + uri));
}

void remote_dataset::impl::fail_all(const error& e) {
  std::deque<queued> q;
  std::map<uint64_t, std::vector<filed>> s;
  {
    std::lock_guard<std::mutex> g(mtx);
    broken = e;  // with the swap: no append queued after it is left unanswered
    q.swap(queue);
    s.swap(sent);
    sent_bytes.clear();
    outstanding = 0;
  }
  cv.notify_all();
  for (auto& x : q) x.done(0, &e);
  for (auto& [seq, acks] : s)
    for (auto& f : acks) f.first(0, &e);
  if (after_acks) after_acks();
  // What the caller's queue took in while the stream was breaking (poked, but
  // the sender was gone): pushed now, it fails with `e`.
  if (refill) refill();
}

void remote_dataset::impl::drain() {
  std::unique_lock<std::mutex> lk(mtx);
  cv.wait(lk, [&] { return broken || idle(); });
  if (broken && broken->code() != errc::closed) throw *broken;
}

void remote_dataset::impl::close() {
  {
    std::unique_lock<std::mutex> lk(mtx);
    if (closing && !sender.joinable()) return;
    cv.wait(lk, [&] { return broken || idle(); });
    closing = true;
  }
  cv.notify_all();
  if (sender.joinable()) sender.join();
  if (receiver.joinable()) receiver.join();
  std::lock_guard<std::mutex> g(mtx);
  if (broken && broken->code() != errc::closed) throw *broken;
}

void remote_dataset::create(const std::string& uri, const std::vector<tensor_spec>& tensors,
                            const remote_options& opts) {
  impl i(uri, opts);
  v1::CreateRequest req;
  req.set_name(i.name);
  for (auto& t : tensors) to_proto(t, *req.add_tensors());
  i.call<v1::CreateRequest, v1::CreateReply>(&v1::Serialake::Stub::Create, req, "create");
}

remote_dataset::remote_dataset(const std::string& uri, remote_options opts)
  : impl_(std::make_unique<impl>(uri, std::move(opts))) {
  info();  // the dataset must exist, the token pass
}

remote_dataset::remote_dataset(remote_dataset&&) noexcept = default;
remote_dataset& remote_dataset::operator=(remote_dataset&&) noexcept = default;
remote_dataset::~remote_dataset() = default;

const std::string& remote_dataset::uri() const { return impl_->uri; }

future<uint64_t> remote_dataset::append_row(row r) {
  std::vector<row> rows;
  rows.push_back(std::move(r));
  return append_rows(std::move(rows));
}

future<uint64_t> remote_dataset::append_rows(std::vector<row> rows) {
  static const auto exec = std::make_shared<inline_executor>();
  auto st = std::make_shared<detail::async_state<uint64_t>>();
  st->runner = exec;
  std::vector<impl::append> one;
  one.push_back({std::move(rows), [st](uint64_t first, const error* e) {
                   if (e)
                     st->finish(std::nullopt, *e);
                   else
                     st->finish(first, std::nullopt);
                 }});
  impl_->push(std::move(one));
  return future<uint64_t>(std::move(st));
}

future<uint64_t> remote_dataset::append(std::string tensor, sample s) {
  row r;
  r.emplace_back(std::move(tensor), std::move(s));
  return append_row(std::move(r));
}

commit_info remote_dataset::flush() {
  impl_->drain();  // the Flush call must not overtake appends still on their way
  v1::DatasetRef req;
  req.set_name(impl_->name);
  return from_proto(impl_->call<v1::DatasetRef, v1::CommitReply>(&v1::Serialake::Stub::Flush, req, "flush").commit());
}

commit_info remote_dataset::commit(const std::string& message) {
  impl_->drain();
  v1::CommitRequest req;
  req.set_name(impl_->name);
  req.set_message(message);
  return from_proto(impl_->call<v1::CommitRequest, v1::CommitReply>(&v1::Serialake::Stub::Commit, req, "commit").commit());
}

std::vector<commit_info> remote_dataset::log(bool all) {
  v1::LogRequest req;
  req.set_name(impl_->name);
  req.set_all(all);
  const auto rep = impl_->call<v1::LogRequest, v1::LogReply>(&v1::Serialake::Stub::Log, req, "log");
  std::vector<commit_info> out;
  for (auto& c : rep.commits()) out.push_back(from_proto(c));
  return out;
}

void remote_dataset::create_tensor(const tensor_spec& spec) {
  v1::CreateTensorRequest req;
  req.set_name(impl_->name);
  to_proto(spec, *req.mutable_tensor());
  impl_->call<v1::CreateTensorRequest, v1::CreateReply>(&v1::Serialake::Stub::CreateTensor, req, "create_tensor on");
}

remote_verify remote_dataset::verify() {
  v1::DatasetRef req;
  req.set_name(impl_->name);
  grpc::ClientContext ctx;
  impl_->prepare(ctx, false);  // it reads every sample: longer than a unary deadline
  v1::VerifyReply rep;
  grpc::Status s = impl_->stub->Verify(&ctx, req, &rep);
  if (!s.ok()) throw from_status(s, "verify of " + impl_->uri);
  remote_verify out;
  out.version = rep.version();
  out.samples = rep.samples();
  out.tensors = rep.tensors();
  for (auto& p : rep.problems()) out.problems.push_back({p.tensor(), p.index(), p.file(), p.message()});
  return out;
}

remote_info remote_dataset::info() {
  v1::DatasetRef req;
  req.set_name(impl_->name);
  auto rep = impl_->call<v1::DatasetRef, v1::InfoReply>(&v1::Serialake::Stub::Info, req, "info");
  remote_info out;
  out.version = rep.version();
  for (auto& t : rep.tensors()) out.tensors.push_back({from_proto(t.spec()), t.length()});
  return out;
}

std::vector<tensor_spec> remote_dataset::tensors() {
  std::vector<tensor_spec> out;
  for (auto& t : info().tensors) out.push_back(std::move(t.spec));
  return out;
}

void remote_dataset::read(uint64_t start, std::optional<uint64_t> end, const std::vector<std::string>& only,
                          const std::function<void(uint64_t, row&)>& fn) {
  v1::ReadRequest req;
  req.set_name(impl_->name);
  for (auto& t : only) req.add_tensors(t);
  req.set_start(start);
  if (end) req.set_end(*end);
  grpc::ClientContext ctx;
  impl_->prepare(ctx, false);  // a long read may take longer than a unary deadline
  auto reader = impl_->stub->Read(&ctx, req);
  v1::ReadReply rep;
  while (reader->Read(&rep)) {
    uint64_t index = rep.first();
    for (auto& pr : *rep.mutable_rows()) {
      row r = from_proto(std::move(pr), static_cast<size_t>(index));
      fn(index++, r);
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) throw from_status(s, "read of " + impl_->uri);
}

std::vector<std::vector<hit>> remote_dataset::search(std::string_view tensor,
                                                     const std::vector<std::vector<float>>& queries,
                                                     const search_options& o) {
  v1::SearchRequest req;
  to_proto(impl_->name, tensor, queries, o, req);
  return from_proto(impl_->call<v1::SearchRequest, v1::SearchReply>(&v1::Serialake::Stub::Search, req, "search"));
}

void remote_dataset::close() { impl_->close(); }

}  // namespace serialake
