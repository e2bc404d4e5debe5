#pragma once
// What the dataset actor does with its store, kept free of CAF: applying drained
// appends in order, the commit policy (durable / buffered), and completing futures.
//
// Threading: one owner (the dataset actor's thread).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/ingest_queue.hpp"
#include "core/store.hpp"
#include "serialake/options.hpp"

namespace serialake {

/// The write-side logic of a dataset actor.
class dataset_writer {
 public:
  dataset_writer(std::unique_ptr<store> st, std::shared_ptr<detail::ingest_queue> q,
                 write_policy p);
  ~dataset_writer();

  /// Whether the queue holds a batch worth applying now (see ingest_queue).
  bool due() const noexcept { return queue_->due(); }
  /// Applies every queued append and commits per the policy. Returns true when
  /// buffered appends are pending and no commit timer is armed yet: the caller
  /// should arm one and call tick() when it fires.
  bool drain();

  /// What the actor does after serve().
  struct serve_result {
    bool arm_timer = false;   ///< as drain()'s result
    bool wake_again = false;  ///< appends came in that rely on this serve: wake yourself
  };
  /// A producer woke the actor: drain, and in durable mode keep taking the
  /// appends that follow each commit for a few rounds, until none comes within
  /// the linger or `mail_waiting()` says a message waits for the actor. Producers do not wake
  /// the actor meanwhile (ingest_queue::begin_drain).
  serve_result serve(const std::function<bool()>& mail_waiting);
  /// The commit timer fired.
  void tick();
  /// Applies queued appends and commits them, with `message`, as one version.
  commit_info commit(const std::string& message);
  /// Applies queued appends, refuses any later ones, commits. Idempotent.
  void close();
  store& st() { return *store_; }
  const write_policy& policy() const noexcept { return policy_; }

  /// How continuations of completed appends (append_future::then) are run: the
  /// dataset's callback actor, a batch per completion round.
  void set_runner(std::function<void(std::vector<std::function<void()>>)> run) { run_ = std::move(run); }
  /// Called after each commit with what it added (commit notifications); unset:
  /// no event is built.
  void set_commit_listener(std::function<void(commit_event)> fn) { on_commit_ = std::move(fn); }

 private:
  bool apply_and_commit(detail::append_op* ops);
  void apply_all(detail::append_op* ops);
  uint64_t apply(detail::append_op& op);
  void finish(detail::append_op* op, const error* e);
  commit_info commit_awaiting(const std::string& message);
  // store_->commit, telling the listener of a new version.
  commit_info commit_store(const std::string& message);
  // Wakes waiting futures and posts the continuations of the ops just finished.
  void publish();

  std::unique_ptr<store> store_;
  std::shared_ptr<detail::ingest_queue> queue_;
  write_policy policy_;
  std::vector<detail::append_op*> awaiting_;  // applied, waiting for a durable commit
  std::vector<std::function<void()>> thens_;  // continuations of finished ops, to post
  std::function<void(std::vector<std::function<void()>>)> run_;
  std::function<void(commit_event)> on_commit_;
  bool timer_armed_ = false;
  bool closed_ = false;
};

}  // namespace serialake
