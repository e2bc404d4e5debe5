#pragma once
// Append ops are recycled to the thread that made them. An op is allocated by a
// producer and finished by the dataset actor; freeing it there would hand every
// node and sample buffer across threads (glibc's slow paths, heap trims and page
// faults: measured at 10-15 % of a 4 KiB append). Instead the last reference
// pushes the op onto its home thread's return stack (one CAS), and that thread's
// next append reuses it, keeping its buffers' capacity: a steady stream of
// appends allocates nothing. Each thread keeps at most `pool_keep_bytes` on its
// free list and as much on its return stack; ops of a thread that has exited are
// simply deleted. Ops whose future is still held come back without their
// payload (see dataset_writer::finish), so a program that keeps futures around
// does not keep every sample's bytes too.

#include <cstdint>

#include "actors/ingest_queue.hpp"

namespace serialake::detail {

/// Most bytes of ops one thread keeps for reuse, on each of its two lists.
constexpr uint64_t pool_keep_bytes = 1 << 20;

/// An op in its initial state (pending, two references), from this thread's
/// pool when it has one. Its tensor and payload hold whatever the last user left:
/// assign them (assigning keeps their capacity).
append_op* new_op();

/// The last reference to `op` is gone: back to its home thread, or deleted.
void recycle(append_op* op) noexcept;

}  // namespace serialake::detail
