#pragma once
// The on-disk format of a dataset, written down once. Everything else encodes and
// decodes through the functions declared here.
//
// A dataset is a directory:
//
//   dataset.json              schema, human-readable; replaced atomically
//                             (temp file, fsync, rename, fsync dir) on create_tensor
//   commits.log               the commit log: one record per commit, appended
//   commits.mark              how far the log reached at the last writer open or
//                             clean close (core/log_mark.hpp)
//   chunks/<tensor>/<writer>-<seq>.chk
//                             append-only sample bytes of one tensor; <writer> is a
//                             random 16-hex-digit id per write session, so chunk
//                             names never collide between writers
//   lock                      the lock file (see core/lock_file.hpp)
//
// dataset.json:
//   {"format": "serialake", "format_version": 1,
//    "tensors": [{"name": "label", "dtype": "int64", "htype": "class_label",
//                 "shape": null | [d0, d1, ...], "since": <version>}, ...]}
//   A tensor exists from the moment create_tensor returns; `since` is the first
//   version that can hold its samples (opening an older version hides it).
//
// Chunk file: the stored samples back to back, nothing else. A stored sample is
//   dims:   ndim x u64 LE      only for numeric tensors without a fixed shape
//   data:   the element bytes (little-endian, row-major)
// Where each sample starts, its length and checksum live in the commit log, so a
// chunk is written once and never framed or rewritten.
//
// commits.log: a sequence of records, all integers little-endian:
//   record  := magic:u32 (0x314B4C53, "SLK1") | body_len:u32 | data_len:u32
//              | reserved:u32 (0) | body_hash:u64 | body | data
//              body_hash = XXH3_64bits(body); data (data_len bytes) is not
//              covered by it: each sample in it has its own hash in the body,
//              and data_len must equal the sizes of the body's inline entries
//   body    := version:u64 | time_ms:i64 | lock_gen:u64 | msg_len:u32 | msg
//              | seg_count:u32 | seg*
//   seg     := name_len:u16 | tensor name | chunk_len:u16 | chunk file name
//              | start:u64 | count:u32 | entry*count
//              an empty chunk name means commits.log itself: the samples are
//              the record's data, and start is their offset in commits.log;
//              any other is a plain file name (no '/' or NUL, not . or ..)
//   entry   := size:u32 | ndim:u8 | hash:u64
//              the seg's samples lie back to back in the chunk from `start`;
//              hash = XXH3_64bits of the stored sample (dims and data)
// version is 1 for the first record and grows by one per record. A commit is the
// record: it is visible once the whole record (data included) is in the log and
// its body has a good hash. Readers skip the data of records they scan.
//
// Durability: a small commit (its samples all still in the write buffers, at most
// one buffer's worth) writes record and samples to the log with one writev and
// fdatasyncs the log alone: one sync of one file, as cheap as durability gets.
// Other commits write their chunk bytes, then the record, then fdatasync the
// touched chunks and the log together (in parallel). Data is written once either
// way. The next record is only written after that sync, so after a crash
// only the last record can reference unsynced bytes: recovery re-reads the last
// record's samples and drops it if one is missing or reads back as zeros with a
// wrong hash (it was never acknowledged); full-length bytes with a wrong hash are
// damage and stay visible as a corrupt sample.
//
// What recovery may cut: only the torn last record of a writer that died during
// that commit. Bytes after the last whole record must be the prefix of one record
// (or zeros, as a crash that extended the file leaves), the log must reach the
// length and version commits.mark recorded, and the mark must say a writer
// session was open; the unsynced-record rule above applies only to a record
// newer than the mark. Everything else is damage (core/log_mark.hpp): writers
// refuse to open with errc::corrupt naming the file and offset, readers show the
// commits before it, and nothing is deleted until `serialake repair`.
//
// Fencing: a writer appends a record only while holding an exclusive flock on
// commits.log, after checking under it that the log still ends where its own
// last commit left it and that its lock is still its own (the lock's check()).
// A writer's open reads the log under the same flock. So a writer that lost its
// lock while paused can never append after a newer holder's records.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "serialake/types.hpp"

namespace serialake::format {

inline constexpr uint32_t record_magic = 0x314B4C53;
inline constexpr size_t record_header_size = 24;
inline constexpr const char* schema_file = "dataset.json";
inline constexpr const char* log_file = "commits.log";
inline constexpr const char* chunk_dir = "chunks";
inline constexpr const char* lock_file = "lock";
inline constexpr const char* mark_file = "commits.mark";

/// Location and checksum of one stored sample, as kept in the log.
struct entry {
  uint32_t size = 0;
  uint8_t ndim = 0;
  uint64_t hash = 0;
};

/// A run of samples of one tensor stored back to back in one chunk.
struct segment {
  std::string tensor;
  std::string chunk;
  uint64_t start = 0;
  std::vector<entry> entries;
};

/// One commit record.
struct record {
  uint64_t version = 0;
  int64_t time_ms = 0;
  uint64_t lock_gen = 0;
  std::string message;
  std::vector<segment> segments;
  uint32_t data_len = 0;  ///< bytes of sample data following the body
};

/// Outcome of decoding the record at the start of a buffer.
enum class decode_status { ok, truncated, bad };

/// Appends the header and body of `r`; its r.data_len bytes of data must follow.
void encode(const record& r, std::string& out);

/// Decodes the record at `in`, which must hold its header and body (the data
/// may be absent); on ok sets `r` and `used` (the whole record's extent, data
/// included). truncated: `in` ends inside header or body; bad: wrong magic,
/// hash or layout.
decode_status decode(std::string_view in, record& r, size_t& used);

/// Header and body bytes of the record starting at `in` (0 if `in` is shorter
/// than a header or the magic is wrong).
size_t head_size(std::string_view in) noexcept;

/// The writer id of a chunk file name this store makes (`<16 hex digits>-<6 or
/// more digits>.chk`), or "" for any other name (a user's file, a stray).
std::string_view chunk_writer(std::string_view name) noexcept;

/// Checksum of stored sample bytes.
uint64_t hash(const void* data, size_t size) noexcept;

/// Bytes of the dims prefix stored before a sample's data.
inline size_t dims_bytes(uint8_t ndim) noexcept { return size_t{ndim} * 8; }

/// True if samples of `spec` store their dims in the chunk.
bool stores_dims(const tensor_spec& spec) noexcept;

/// Why a stored sample of `size` bytes cannot be a sample of `spec`; empty if it
/// can. Fixed shape: size == elements * itemsize; variable shape: size == ndim*8 +
/// product(dims) * itemsize, with `dims` the sample's first min(size, ndim*8)
/// stored bytes; blobs: any size. Products are checked for overflow. The
/// checksum covers the bytes, not their meaning: this is what notices a
/// dataset.json whose dtype or shape no longer fits the stored samples.
std::string size_mismatch(const tensor_spec& spec, uint8_t ndim, const char* dims, uint64_t size);

}  // namespace serialake::format
