// The physical limit of reading a dataset: its chunk files read directly, with
// no index, by pread or mmap, with and without the per-sample hash a checked
// read must compute.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "bench/read_bench.hpp"
#include "core/format.hpp"

namespace serialake::bench {
namespace {

std::atomic<uint64_t> sink{0};  // keeps the hashes from being optimized away

struct fd_guard {
  int fd;
  ~fd_guard() { ::close(fd); }
};

int open_or_throw(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  return fd;
}

// Hashes whole samples of `sample` bytes in [p, p + n) with the store's hash;
// returns the bytes used.
size_t hash_samples(const char* p, size_t n, size_t sample, uint64_t& acc) {
  size_t at = 0;
  for (; at + sample <= n; at += sample) acc ^= format::hash(p + at, sample);
  return at;
}

}  // namespace

double timed_threads(int threads, const std::function<void(int)>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int k = 1; k < threads; ++k) ts.emplace_back(fn, k);
  fn(0);
  for (auto& t : ts) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double pread_files(const std::vector<std::string>& files, int threads, size_t sample) {
  return timed_threads(threads, [&](int k) {
    constexpr size_t block = 1 << 20;
    std::unique_ptr<char[]> buf(new char[block + sample]);
    uint64_t acc = 0;
    for (size_t f = k; f < files.size(); f += threads) {
      fd_guard fd{open_or_throw(files[f])};
      size_t carry = 0;  // a sample cut by the block's end moves to the front
      for (off_t off = 0;;) {
        ssize_t n = ::pread(fd.fd, buf.get() + carry, block, off);
        if (n <= 0) break;
        off += n;
        if (!sample) continue;
        size_t have = carry + static_cast<size_t>(n);
        size_t used = hash_samples(buf.get(), have, sample, acc);
        carry = have - used;
        std::memmove(buf.get(), buf.get() + used, carry);
      }
    }
    sink ^= acc;
  });
}

double mmap_files(const std::vector<std::string>& files, int threads, size_t sample) {
  return timed_threads(threads, [&](int k) {
    uint64_t acc = 0;
    for (size_t f = k; f < files.size(); f += threads) {
      fd_guard fd{open_or_throw(files[f])};
      struct stat st;
      if (::fstat(fd.fd, &st) != 0 || st.st_size == 0) continue;
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd.fd, 0);
      if (p == MAP_FAILED) throw std::runtime_error("cannot map " + files[f]);
      ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      hash_samples(static_cast<const char*>(p), static_cast<size_t>(st.st_size), sample, acc);
      ::munmap(p, static_cast<size_t>(st.st_size));
    }
    sink ^= acc;
  });
}

bool drop_caches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return false;
  f << "3\n";
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace serialake::bench
