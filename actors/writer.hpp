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

namespace serialake {

/// When appends become durable.
enum class durability {
  buffered,  ///< an append completes once applied; commits every N bytes / T ms, on flush and close
  durable,   ///< an append completes after the commit holding it is on disk (group commit)
};

/// The dataset actor's commit policy.
struct write_policy {
  durability mode = durability::buffered;
  uint64_t commit_bytes = 64ull << 20;                 ///< buffered: commit at this many pending bytes
  std::chrono::milliseconds commit_interval{1000};     ///< buffered: commit this long after an append
  uint64_t drain_bytes = 1 << 20;                      ///< buffered: apply appends in batches this large (at most queue_bytes / 4)...
  std::chrono::milliseconds drain_delay{2};            ///< ...or once the first has waited this long
  /// durable: after a commit, wait this long for more appends before sleeping
  std::chrono::microseconds linger{50};
};

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
  /// appends that follow each commit until none comes within the linger or
  /// `mail_waiting()` says a message waits for the actor. Producers do not wake
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

 private:
  bool apply_and_commit(detail::append_op* ops);
  void apply_all(detail::append_op* ops);
  uint64_t apply(detail::append_op& op);
  void finish(detail::append_op* op, const error* e);
  commit_info commit_awaiting(const std::string& message);

  std::unique_ptr<store> store_;
  std::shared_ptr<detail::ingest_queue> queue_;
  write_policy policy_;
  std::vector<detail::append_op*> awaiting_;  // applied, waiting for a durable commit
  bool timer_armed_ = false;
  bool closed_ = false;
};

}  // namespace serialake
