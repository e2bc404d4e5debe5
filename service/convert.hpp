#pragma once
// Conversions between serialake's types and the messages of service/serialake.proto,
// and between serialake::error and a gRPC status (the error model written in the
// .proto). Client and server share them, so both ends read the contract alike.

#include <grpcpp/support/status.h>

#include "serialake/dataset.hpp"
#include "serialake/error.hpp"
#include "serialake/search.hpp"
#include "serialake/types.hpp"
#include "service/serialake.pb.h"

namespace serialake::service {

namespace pb = ::serialake::v1;

void to_proto(const tensor_spec& s, pb::TensorSpec& out);
/// Throws invalid_argument naming the bad dtype.
tensor_spec from_proto(const pb::TensorSpec& s);

void to_proto(const sample& s, pb::Sample& out);
/// Moves the bytes out of `s`. Throws invalid_argument naming `tensor` for an
/// unknown dtype or more than max_ndim dimensions (the rest is checked by the
/// dataset against the tensor's spec).
sample from_proto(pb::Sample&& s, const std::string& tensor);

/// Moves the samples out of `r`; an error names the row by `row_no`.
row from_proto(pb::Row&& r, size_t row_no);

void to_proto(const commit_info& c, pb::CommitInfo& out);
commit_info from_proto(const pb::CommitInfo& c);

/// The status of a failed call: the errc's gRPC code, the message, and an
/// Error message in the details.
grpc::Status to_status(const error& e);
/// The error a failed status stands for: from its details if present, else
/// from its gRPC code; `what` (e.g. "Append to serialake://h:p/x") prefixes the
/// message of errors the server did not word (transport failures).
error from_status(const grpc::Status& s, const std::string& what);

/// A search of `queries` with `o`, for dataset `name`'s `tensor`. Throws
/// invalid_argument if the queries differ in length (or there are none).
void to_proto(const std::string& name, std::string_view tensor, const std::vector<std::vector<float>>& queries,
              const search_options& o, pb::SearchRequest& out);
/// The options of a search request; throws invalid_argument for an unknown metric.
search_options from_proto(const pb::SearchRequest& r);
void to_proto(const std::vector<std::vector<hit>>& hits, pb::SearchReply& out);
std::vector<std::vector<hit>> from_proto(const pb::SearchReply& r);

void to_proto(const error& e, pb::Error& out);
error from_proto(const pb::Error& e);

}  // namespace serialake::service
