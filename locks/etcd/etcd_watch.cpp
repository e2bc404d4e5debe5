#include "locks/etcd/etcd_watch.hpp"

#include <curl/curl.h>

namespace serialake::etcd {

watch::watch(const client& c, const std::string& key, int64_t start_revision,
             std::function<void()> on_delete)
    : on_delete_(std::move(on_delete)) {
  json body{{"create_request",
             {{"key", b64(key)}, {"start_revision", std::to_string(start_revision)}}}};
  multi_ = curl_multi_init();
  thread_ = std::thread(&watch::run, this, c.base_url() + "/v3/watch", body.dump(),
                        static_cast<long>(c.options().connect_timeout.count()));
}

watch::~watch() {
  stop_ = true;
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

bool watch::wait_deleted(std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> g(mtx_);
  cv_.wait_until(g, until, [&] { return deleted_ || ended_; });
  return deleted_;
}

size_t watch::on_data(char* data, size_t size, size_t n, void* self) {
  static_cast<watch*>(self)->feed(data, size * n);
  return size * n;
}

void watch::feed(const char* data, size_t n) {
  line_.append(data, n);
  for (size_t nl; (nl = line_.find('\n')) != std::string::npos; line_.erase(0, nl + 1)) {
    json j = json::parse(line_.begin(), line_.begin() + static_cast<std::ptrdiff_t>(nl), nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const json& r = j.contains("result") ? j["result"] : j;
    bool gone = false, cancelled = j.contains("error") || r.value("canceled", false);
    if (r.contains("events"))
      for (const auto& e : r["events"]) gone |= e.value("type", "PUT") == "DELETE";
    if (gone && on_delete_) on_delete_();
    if (gone || cancelled) {
      std::lock_guard<std::mutex> g(mtx_);
      deleted_ |= gone;
      ended_ = ended_ || cancelled;
      cv_.notify_all();
    }
  }
}

void watch::run(std::string url, std::string body, long connect_timeout_ms) {
  CURL* h = curl_easy_init();
  CURLM* m = static_cast<CURLM*>(multi_);
  if (h) {
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &watch::on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(m, h);
    // No overall timeout: the stream lasts as long as the watch; the destructor
    // wakes the poll to stop it.
    for (int running = 1; running && !stop_;) {
      curl_multi_perform(m, &running);
      if (running) curl_multi_poll(m, nullptr, 0, 1000, nullptr);
    }
    curl_multi_remove_handle(m, h);
    curl_easy_cleanup(h);
  }
  std::lock_guard<std::mutex> g(mtx_);
  ended_ = true;
  cv_.notify_all();
}

}  // namespace serialake::etcd
