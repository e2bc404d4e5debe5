// `serialake serve`: the Serialake service (callback API: no thread per call or
// per stream; appends complete through continuations), its start and its stop.

#include "service/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/file_io.hpp"
#include "serialake/lock_uri.hpp"
#include "serialake/lock_services.hpp"
#include "service/append_reactor.hpp"
#include "service/auth.hpp"
#include "service/convert.hpp"
#include "service/read_reactor.hpp"
#include "service/search_call.hpp"

namespace serialake::service {

namespace {

// Server-side messages are bounded (a hostile client cannot make it buffer more).
constexpr int max_message_bytes = 64 << 20;

// A call refused before it starts (bad token): finishes at once.
template <class Base>
class refused final : public Base {
 public:
  explicit refused(const grpc::Status& s) { this->Finish(s); }
  void OnDone() override { delete this; }
};

class service_impl final : public v1::Serialake::CallbackService {
 public:
  service_impl(registry& reg, std::string token) : reg_(reg), token_(std::move(token)) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx, const v1::CreateRequest* req,
                                   v1::CreateReply*) override {
    return unary(ctx, [&] {
      std::vector<tensor_spec> specs;
      for (auto& t : req->tensors()) specs.push_back(from_proto(t));
      reg_.create(req->name(), specs);
    });
  }

  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx, const v1::DatasetRef* req,
                                 v1::InfoReply* rep) override {
    return unary(ctx, [&] {
      auto snap = reg_.get(req->name()).snapshot();
      rep->set_name(req->name());
      rep->set_version(snap->version());
      for (auto& t : snap->tensors()) {
        auto* ti = rep->add_tensors();
        to_proto(t, *ti->mutable_spec());
        ti->set_length(snap->length(t.name));
      }
    });
  }

  grpc::ServerUnaryReactor* Flush(grpc::CallbackServerContext* ctx, const v1::DatasetRef* req,
                                  v1::CommitReply* rep) override {
    return unary_async(ctx, rep, [&] { return reg_.get(req->name()).flush_async(); });
  }

  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx, const v1::CommitRequest* req,
                                   v1::CommitReply* rep) override {
    return unary_async(ctx, rep, [&] { return reg_.get(req->name()).commit_async(req->message()); });
  }

  grpc::ServerUnaryReactor* Log(grpc::CallbackServerContext* ctx, const v1::LogRequest* req,
                                v1::LogReply* rep) override {
    return unary(ctx, [&] {
      for (auto& c : reg_.get(req->name()).log(req->all())) to_proto(c, *rep->add_commits());
    });
  }

  grpc::ServerUnaryReactor* CreateTensor(grpc::CallbackServerContext* ctx, const v1::CreateTensorRequest* req,
                                         v1::CreateReply*) override {
    return unary(ctx, [&] { reg_.get(req->name()).create_tensor(from_proto(req->tensor())); });
  }

  // Reads the whole dataset on the callback thread, which it holds that long
  // (an operator's occasional check, not a request path).
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* ctx, const v1::DatasetRef* req,
                                   v1::VerifyReply* rep) override {
    return unary(ctx, [&] {
      auto snap = reg_.get(req->name()).snapshot();
      rep->set_version(snap->version());
      rep->set_tensors(snap->tensors().size());
      uint64_t samples = 0;
      for (auto& t : snap->tensors()) samples += snap->length(t.name);
      rep->set_samples(samples);
      for (auto& p : snap->verify()) {
        auto* out = rep->add_problems();
        out->set_tensor(p.tensor);
        out->set_index(p.index);
        out->set_file(p.file);
        out->set_message(p.message);
      }
    });
  }

  grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply>* Append(
      grpc::CallbackServerContext* ctx) override {
    if (!authorized(*ctx))
      return new refused<grpc::ServerBidiReactor<v1::AppendRequest, v1::AppendReply>>(refusal());
    return start_append(reg_);
  }

  grpc::ServerWriteReactor<v1::ReadReply>* Read(grpc::CallbackServerContext* ctx,
                                                const v1::ReadRequest* req) override {
    if (!authorized(*ctx)) return new refused<grpc::ServerWriteReactor<v1::ReadReply>>(refusal());
    return start_read(reg_, *req);
  }

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* ctx, const v1::SearchRequest* req,
                                   v1::SearchReply* rep) override {
    if (!authorized(*ctx)) {
      auto* r = ctx->DefaultReactor();
      r->Finish(refusal());
      return r;
    }
    return start_search(reg_, ctx, req, rep, searches_);
  }

 private:
  bool authorized(const grpc::CallbackServerContext& ctx) const {
    if (token_.empty()) return true;
    auto& md = ctx.client_metadata();
    auto it = md.find(auth_key);
    if (it == md.end()) return false;
    std::string_view v(it->second.data(), it->second.size());
    if (v.substr(0, bearer.size()) != bearer) return false;
    return same_token(v.substr(bearer.size()), token_);
  }

  static grpc::Status refusal() {
    return to_status(error(errc::unauthenticated, "the server refused the call's token (or its lack of one)"));
  }

  // A call answered by `fn` on the callback thread (short: metadata, one open).
  template <class F>
  grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* ctx, F&& fn) {
    auto* r = ctx->DefaultReactor();
    if (!authorized(*ctx)) {
      r->Finish(refusal());
      return r;
    }
    try {
      fn();
      r->Finish(grpc::Status::OK);
    } catch (const error& e) {
      r->Finish(to_status(e));
    } catch (const std::exception& e) {
      r->Finish(to_status(error(errc::internal, e.what())));
    }
    return r;
  }

  // A call answered once the future `start()` returns completes (a commit):
  // no thread waits for the disk.
  template <class F>
  grpc::ServerUnaryReactor* unary_async(grpc::CallbackServerContext* ctx, v1::CommitReply* rep, F&& start) {
    auto* r = ctx->DefaultReactor();
    if (!authorized(*ctx)) {
      r->Finish(refusal());
      return r;
    }
    try {
      start().then([r, rep](future<commit_info> f) {
        try {
          to_proto(f.get(), *rep->mutable_commit());
          r->Finish(grpc::Status::OK);
        } catch (const error& e) {
          r->Finish(to_status(e));
        }
      });
    } catch (const error& e) {
      r->Finish(to_status(e));
    }
    return r;
  }

  registry& reg_;
  std::string token_;
  std::atomic<int> searches_{0};  // Search calls running (search_call.hpp)
};

// One backend serves every dataset, so the URI names no lock: each dataset's
// lock is named after its path (derived_lock_name).
std::shared_ptr<lock_backend> server_locks(const std::string& uri) {
  if (uri.empty()) return nullptr;
  if (!parse_lock_uri(uri).name.empty())
    throw error(errc::invalid_argument, "--lock " + uri +
                                            ": give no lock name; each dataset's lock is named after its path");
  return lock_backend_for(uri);
}

std::shared_ptr<grpc::ServerCredentials> credentials(const serve_options& o) {
  if (o.tls_cert.empty() != o.tls_key.empty())
    throw error(errc::invalid_argument, "--tls-cert and --tls-key go together");
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({io::read_file(o.tls_key), io::read_file(o.tls_cert)});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

int serve(const serve_options& o) {
  // Only the sigwait below takes SIGTERM and SIGINT: every thread started from
  // here on (gRPC's, CAF's) inherits the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::error_code ec;
  const std::string root = std::filesystem::canonical(o.root, ec).string();
  if (ec || !std::filesystem::is_directory(root))
    throw error(errc::not_found, "--root " + o.root + " is not a directory");
  const std::string token = o.token_file.empty() ? std::string() : read_token_file(o.token_file);
  if (token.empty() && o.listen.rfind("127.", 0) != 0 && o.listen.rfind("localhost:", 0) != 0 &&
      o.listen.rfind("[::1]:", 0) != 0)
    spdlog::warn("listening on {} without --token-file: anyone who reaches it may write", o.listen);

  registry reg(root, server_locks(o.lock_uri));
  service_impl svc(reg, token);
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort(o.listen, credentials(o), &port);
  b.SetMaxReceiveMessageSize(max_message_bytes);
  b.SetMaxSendMessageSize(max_message_bytes);
  b.RegisterService(&svc);
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (!server || port == 0) throw error(errc::unavailable, "cannot listen on " + o.listen);
  spdlog::info("listening on {} (port {}), serving {}", o.listen, port, root);

  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("stopping on signal {}: draining calls", sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  server->Wait();
  reg.close_all();
  spdlog::info("stopped");
  return 0;
}

}  // namespace serialake::service
