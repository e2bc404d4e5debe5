#pragma once
// dataset.json: the human-readable schema of a dataset (bytes in core/format.hpp).

#include <string>
#include <vector>

#include "serialake/types.hpp"

namespace serialake {

/// A tensor as recorded in dataset.json.
struct schema_tensor {
  tensor_spec spec;
  uint64_t since = 1;  ///< first version that can hold samples of this tensor
};

/// Reads `dir`/dataset.json; throws not_found if there is none, corrupt if it does
/// not parse (naming the file and the problem).
std::vector<schema_tensor> read_schema(const std::string& dir);

/// Replaces `dir`/dataset.json atomically.
void write_schema(const std::string& dir, const std::vector<schema_tensor>& tensors);

}  // namespace serialake
