// The encodings and the error model of service/serialake.proto (documented there).

#include "service/convert.hpp"

#include <algorithm>
#include <cstdint>

namespace serialake::service {

void to_proto(const tensor_spec& s, pb::TensorSpec& out) {
  out.set_name(s.name);
  out.set_dtype(to_string(s.type));
  out.set_htype(s.htype);
  out.set_fixed_shape(s.shape.has_value());
  out.clear_shape();
  if (s.shape)
    for (uint64_t d : *s.shape) out.add_shape(d);
}

tensor_spec from_proto(const pb::TensorSpec& s) {
  tensor_spec t;
  t.name = s.name();
  t.type = parse_dtype(s.dtype());
  t.htype = s.htype().empty() ? "generic" : s.htype();
  if (s.fixed_shape()) {
    if (static_cast<size_t>(s.shape_size()) > max_ndim)
      throw error(errc::invalid_argument, "tensor '" + s.name() + "': more than " +
                                              std::to_string(max_ndim) + " dimensions");
    t.shape = shape_t(s.shape().begin(), s.shape().end());
  }
  return t;
}

void to_proto(const sample& s, pb::Sample& out) {
  out.set_dtype(to_string(s.type));
  out.clear_shape();
  for (uint64_t d : s.shape) out.add_shape(d);
  out.set_data(s.data);
}

sample from_proto(pb::Sample&& s, const std::string& tensor) {
  sample out;
  try {
    out.type = parse_dtype(s.dtype());
  } catch (const error& e) {
    throw error(e.code(), "tensor '" + tensor + "': " + e.message());
  }
  if (static_cast<size_t>(s.shape_size()) > max_ndim)
    throw error(errc::invalid_argument, "tensor '" + tensor + "': a sample of more than " +
                                            std::to_string(max_ndim) + " dimensions");
  out.shape.assign(s.shape().begin(), s.shape().end());
  out.data = std::move(*s.mutable_data());
  return out;
}

row from_proto(pb::Row&& r, size_t row_no) {
  row out;
  out.reserve(static_cast<size_t>(r.cells_size()));
  try {
    for (auto& c : *r.mutable_cells()) out.emplace_back(c.tensor(), from_proto(std::move(*c.mutable_sample()), c.tensor()));
  } catch (const error& e) {
    throw error(e.code(), "row " + std::to_string(row_no) + ": " + e.message());
  }
  return out;
}

void to_proto(const commit_info& c, pb::CommitInfo& out) {
  out.set_version(c.version);
  out.set_time_ms(c.time_ms);
  out.set_lock_gen(c.lock_gen);
  out.set_message(c.message);
  out.set_samples(c.samples);
}

commit_info from_proto(const pb::CommitInfo& c) {
  return commit_info{c.version(), c.time_ms(), c.lock_gen(), c.message(), c.samples()};
}

namespace {

grpc::StatusCode grpc_code(errc c) {
  switch (c) {
    case errc::not_found: return grpc::StatusCode::NOT_FOUND;
    case errc::already_exists: return grpc::StatusCode::ALREADY_EXISTS;
    case errc::invalid_argument:
    case errc::schema_mismatch: return grpc::StatusCode::INVALID_ARGUMENT;
    case errc::corrupt: return grpc::StatusCode::DATA_LOSS;
    case errc::read_only:
    case errc::lock_lost: return grpc::StatusCode::FAILED_PRECONDITION;
    case errc::locked: return grpc::StatusCode::ABORTED;
    case errc::timeout: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case errc::closed: return grpc::StatusCode::CANCELLED;
    case errc::unavailable: return grpc::StatusCode::UNAVAILABLE;
    case errc::unauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case errc::io:
    case errc::internal: break;
  }
  return grpc::StatusCode::INTERNAL;
}

// A status without our details: the transport's, or another server's.
errc from_grpc_code(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::DEADLINE_EXCEEDED: return errc::timeout;
    case grpc::StatusCode::UNAVAILABLE: return errc::unavailable;
    case grpc::StatusCode::UNAUTHENTICATED: return errc::unauthenticated;
    case grpc::StatusCode::NOT_FOUND: return errc::not_found;
    case grpc::StatusCode::INVALID_ARGUMENT: return errc::invalid_argument;
    case grpc::StatusCode::CANCELLED: return errc::closed;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return errc::invalid_argument;  // a message over the size limit
    default: return errc::internal;
  }
}

bool known(int code) { return code >= static_cast<int>(errc::not_found) && code <= static_cast<int>(errc::unauthenticated); }

}  // namespace

void to_proto(const std::string& name, std::string_view tensor, const std::vector<std::vector<float>>& queries,
              const search_options& o, pb::SearchRequest& out) {
  if (queries.empty()) throw error(errc::invalid_argument, "a search needs at least one query");
  const size_t dim = queries.front().size();
  out.set_name(name);
  out.set_tensor(std::string(tensor));
  out.set_dim(static_cast<uint32_t>(dim));
  out.mutable_queries()->Reserve(static_cast<int>(queries.size() * dim));
  for (size_t q = 0; q < queries.size(); ++q) {
    if (queries[q].size() != dim)
      throw error(errc::invalid_argument, "query " + std::to_string(q) + " has " + std::to_string(queries[q].size()) +
                                              " elements, query 0 has " + std::to_string(dim));
    for (float x : queries[q]) out.add_queries(x);
  }
  out.set_k(static_cast<uint32_t>(std::min<size_t>(o.k, UINT32_MAX)));
  out.set_metric(to_string(o.metric));
  out.set_exact(o.exact);
  if (o.filter.rows) {
    out.set_first(o.filter.rows->first);
    out.set_end(o.filter.rows->second);
  }
  out.set_filter_tensor(o.filter.tensor);
  for (int64_t v : o.filter.values) out.add_filter_values(v);
  out.set_threads(o.threads);
}

search_options from_proto(const pb::SearchRequest& r) {
  search_options o;
  o.k = r.k();
  o.metric = r.metric().empty() ? metric::cos : parse_metric(r.metric());
  o.exact = r.exact();
  if (r.has_first() || r.has_end()) {
    if (!r.has_first() || !r.has_end())
      throw error(errc::invalid_argument, "a search's row range needs both first and end");
    o.filter.rows = std::make_pair(r.first(), r.end());
  }
  o.filter.tensor = r.filter_tensor();
  o.filter.values.assign(r.filter_values().begin(), r.filter_values().end());
  o.threads = r.threads() == 0 ? 1 : r.threads();
  return o;
}

void to_proto(const std::vector<std::vector<hit>>& hits, pb::SearchReply& out) {
  for (auto& q : hits) {
    auto* h = out.add_results();
    for (auto& x : q) {
      auto* p = h->add_hits();
      p->set_index(x.index);
      p->set_score(x.score);
    }
  }
}

std::vector<std::vector<hit>> from_proto(const pb::SearchReply& r) {
  std::vector<std::vector<hit>> out;
  for (auto& q : r.results()) {
    auto& h = out.emplace_back();
    for (auto& x : q.hits()) h.push_back({x.index(), x.score()});
  }
  return out;
}

void to_proto(const error& e, pb::Error& out) {
  out.set_code(static_cast<pb::Code>(e.code()));
  out.set_message(e.message());
}

error from_proto(const pb::Error& e) {
  const int c = static_cast<int>(e.code());
  return error(known(c) ? static_cast<errc>(c) : errc::internal, e.message());
}

grpc::Status to_status(const error& e) {
  pb::Error details;
  to_proto(e, details);
  return grpc::Status(grpc_code(e.code()), e.message(), details.SerializeAsString());
}

error from_status(const grpc::Status& s, const std::string& what) {
  pb::Error details;
  if (!s.error_details().empty() && details.ParseFromString(s.error_details()) && details.code() != pb::CODE_UNSPECIFIED)
    return from_proto(details);
  return error(from_grpc_code(s.error_code()), what + ": " + s.error_message());
}

}  // namespace serialake::service
