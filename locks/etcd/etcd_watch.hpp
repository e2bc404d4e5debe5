#pragma once
// A watch on one etcd key, waiting for its deletion: a streaming POST to the
// gateway's /v3/watch on a thread and a connection of its own. The stream is
// newline-delimited JSON, one {"result": ...} per batch of events.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "locks/etcd/etcd_client.hpp"

namespace serialake::etcd {

/// See above. Stops (and joins its thread) when destroyed.
class watch {
 public:
  /// Watches `key` from `start_revision` on (events since then are replayed, so
  /// a deletion between the caller's read and this watch is not missed).
  /// `on_delete` (optional) runs on the watch's thread when the key is deleted.
  watch(const client& c, const std::string& key, int64_t start_revision,
        std::function<void()> on_delete = {});
  ~watch();
  watch(const watch&) = delete;
  watch& operator=(const watch&) = delete;

  /// Waits until the key is deleted (true), or the stream ends (etcd went away,
  /// cancelled the watch) or `until` passes (false).
  bool wait_deleted(std::chrono::steady_clock::time_point until);
  /// True once the stream has ended: the caller re-reads and watches anew.
  bool ended() const { return ended_; }

 private:
  void run(std::string url, std::string body, long connect_timeout_ms);
  void feed(const char* data, size_t n);  // on the thread: the stream's bytes
  static size_t on_data(char* data, size_t size, size_t n, void* self);

  std::function<void()> on_delete_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool deleted_ = false;
  std::atomic<bool> ended_{false};
  std::atomic<bool> stop_{false};
  void* multi_ = nullptr;  // CURLM*, for curl_multi_wakeup from the destructor
  std::string line_;       // the part of a line received so far
  std::thread thread_;
};

}  // namespace serialake::etcd
