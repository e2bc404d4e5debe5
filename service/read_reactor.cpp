// One Read stream: rows of the dataset's last commit (a snapshot, so writers go
// on meanwhile), in blocks of about block_bytes, one block written at a time.
// The next block is read only when the previous one was sent, so a client that
// reads slowly holds one block of server memory, never more.

#include "service/read_reactor.hpp"

#include <algorithm>

#include "service/convert.hpp"

namespace serialake::service {
namespace {

constexpr size_t block_bytes = 1u << 20;

class read_reactor final : public grpc::ServerWriteReactor<v1::ReadReply> {
 public:
  read_reactor(registry& reg, const v1::ReadRequest& req) {
    try {
      snap_ = reg.get(req.name()).snapshot();
      if (req.tensors().empty()) {
        for (auto& t : snap_->tensors()) names_.push_back(t.name);
      } else {
        for (auto& t : req.tensors()) {
          if (!snap_->has_tensor(t))
            throw error(errc::not_found, "no tensor '" + t + "' in dataset '" + req.name() + "'");
          names_.push_back(t);
        }
      }
      uint64_t rows = 0;
      for (auto& t : names_) {
        lengths_.push_back(snap_->length(t));
        rows = std::max(rows, lengths_.back());
      }
      next_ = req.start();
      end_ = req.has_end() ? std::min(req.end(), rows) : rows;
      send_block();
    } catch (const error& e) {
      Finish(to_status(e));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    try {
      send_block();
    } catch (const error& e) {
      Finish(to_status(e));
    }
  }

  void OnDone() override { delete this; }

 private:
  void send_block() {
    if (next_ >= end_) return Finish(grpc::Status::OK);
    reply_.Clear();
    reply_.set_first(next_);
    size_t bytes = 0;
    for (; next_ < end_ && bytes < block_bytes; ++next_) {
      auto* r = reply_.add_rows();
      for (size_t k = 0; k < names_.size(); ++k) {
        if (next_ >= lengths_[k]) continue;
        auto* c = r->add_cells();
        c->set_tensor(names_[k]);
        sample s = snap_->read(names_[k], next_);
        bytes += s.data.size();
        to_proto(s, *c->mutable_sample());
      }
    }
    StartWrite(&reply_);
  }

  std::shared_ptr<const snapshot> snap_;
  std::vector<std::string> names_;
  std::vector<uint64_t> lengths_;
  uint64_t next_ = 0;
  uint64_t end_ = 0;
  v1::ReadReply reply_;  // the block being written
};

}  // namespace

grpc::ServerWriteReactor<v1::ReadReply>* start_read(registry& reg, const v1::ReadRequest& req) {
  return new read_reactor(reg, req);
}

}  // namespace serialake::service
