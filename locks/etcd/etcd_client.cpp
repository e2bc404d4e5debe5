#include "locks/etcd/etcd_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "core/base64.hpp"
#include "serialake/error.hpp"

namespace serialake::etcd {

std::string b64(const std::string& raw) { return base64_encode(raw); }

std::string unb64(const json& field) {
  if (!field.is_string()) return {};
  return base64_decode(field.get<std::string>());
}

int64_t int_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) throw error(errc::corrupt, std::string("etcd answered a non-integer ") + name);
  try {
    return std::stoll(it->get<std::string>());
  } catch (const std::exception&) {
    throw error(errc::corrupt, std::string("etcd answered a non-integer ") + name + ": " + it->dump());
  }
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  // Lock prefixes end in '/': never a 0xff byte to carry over.
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

client::client(const lock_service_uri& uri, const etcd_options& opts)
    : uri_(uri), opts_(opts), base_("http://" + uri.host + ":" + std::to_string(uri.port)) {
  init_curl();
  curl_ = curl_easy_init();
  if (!curl_) throw error(errc::internal, "curl_easy_init failed");
}

client::~client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

json client::call(const std::string& path, const json& body, std::chrono::milliseconds timeout) {
  CURL* h = static_cast<CURL*>(curl_);
  const std::string url = base_ + path, payload = body.dump();
  std::string answer;
  auto limit = opts_.request_timeout;
  if (timeout.count() > 0) limit = std::min(limit, timeout);
  curl_easy_reset(h);  // keeps the connection, drops the last call's options
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, limit.count())));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK)
    throw error(errc::unavailable, "etcd at " + uri_.text + " cannot be reached (POST " + path +
                                       "): " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  json j = json::parse(answer, nullptr, false);
  if (status != 200 || j.is_discarded() || !j.is_object()) {
    std::string what = j.is_object() && j.contains("message") ? j["message"].dump() : answer.substr(0, 200);
    throw error(errc::unavailable, "etcd at " + uri_.text + " answered HTTP " + std::to_string(status) +
                                       " to POST " + path + ": " + what);
  }
  // Streaming calls (lease keep-alive) wrap their one answer in "result"; an
  // error inside a stream comes as "error".
  if (j.contains("error"))
    throw error(errc::unavailable, "etcd at " + uri_.text + " answered an error to POST " + path + ": " +
                                       j["error"].dump());
  if (j.contains("result") && j["result"].is_object()) return j["result"];
  return j;
}

client_pool::handle client_pool::get() {
  std::unique_ptr<client> c;
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!c) c = std::make_unique<client>(uri_, opts_);
  return handle(c.release(), [pool = shared_from_this()](client* back) {
    std::lock_guard<std::mutex> g(pool->mtx_);
    if (pool->idle_.size() < 4) pool->idle_.emplace_back(back);  // a few: contention is rare
    else delete back;
  });
}

}  // namespace serialake::etcd
