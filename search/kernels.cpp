// Dot-product kernels. Register tiles of 4 queries x 3 stored vectors (12
// accumulators of 8 lanes: 7 loads feed 12 FMAs, so a batch of queries runs at
// FMA speed, not load speed); a single query uses tiles of 1 x 4 (it is bound
// by memory anyway). The AVX2 functions carry a target attribute instead of a
// -mavx2 flag on the file, so no inline function of a shared header gets
// compiled for AVX2 and picked by the linker for every caller.

#include "search/kernels.hpp"

#include <immintrin.h>

#include <type_traits>

namespace serialake::search_detail {
namespace {

constexpr size_t lanes = 8;

// Sums the lanes of `acc` in a fixed order and adds the tail dimensions [k, d).
inline float finish(const float* acc, const float* a, const float* b, size_t k, size_t d) {
  float s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
  for (; k < d; ++k) s += a[k] * b[k];
  return s;
}

template <int QT, int VT>
void tile_portable(const float* q, const float* v, size_t d, float* out, size_t os) {
  float acc[QT][VT][lanes] = {};
  size_t k = 0;
  for (; k + lanes <= d; k += lanes)
    for (int i = 0; i < QT; ++i)
      for (int j = 0; j < VT; ++j)
        for (size_t l = 0; l < lanes; ++l) acc[i][j][l] += q[i * d + k + l] * v[j * d + k + l];
  for (int i = 0; i < QT; ++i)
    for (int j = 0; j < VT; ++j) out[i * os + j] = finish(acc[i][j], q + i * d, v + j * d, k, d);
}

// The lane sums of four accumulators, as one vector.
__attribute__((target("avx2,fma"))) inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

template <int QT, int VT>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* q, const float* v, size_t d,
                                                    float* out, size_t os) {
  __m256 acc[QT][VT];
#pragma GCC unroll 16
  for (int i = 0; i < QT; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < VT; ++j) acc[i][j] = _mm256_setzero_ps();
  size_t k = 0;
  for (; k + lanes <= d; k += lanes) {
    __m256 vv[VT];
#pragma GCC unroll 16
    for (int j = 0; j < VT; ++j) vv[j] = _mm256_loadu_ps(v + j * d + k);
#pragma GCC unroll 16
    for (int i = 0; i < QT; ++i) {
      const __m256 qq = _mm256_loadu_ps(q + i * d + k);
#pragma GCC unroll 16
      for (int j = 0; j < VT; ++j) acc[i][j] = _mm256_fmadd_ps(qq, vv[j], acc[i][j]);
    }
  }
  if constexpr (QT == 4 || VT == 4) {
    // Four sums at once: a scalar reduction per accumulator would cost about
    // half as much as the FMAs themselves at d = 384.
    for (int o = 0; o < (QT == 4 ? VT : QT); ++o) {
      // The four accumulators of output column (or row) o; no lambda: it would
      // not carry the target attribute.
      __m256 a[4];
      for (int x = 0; x < 4; ++x) a[x] = QT == 4 ? acc[x][o] : acc[o][x % VT];
      alignas(16) float sum[4];
      _mm_store_ps(sum, reduce4(a[0], a[1], a[2], a[3]));
      for (int x = 0; x < 4; ++x) {
        const int i = QT == 4 ? x : o, j = QT == 4 ? o : x;
        float r = sum[x];
        for (size_t t2 = k; t2 < d; ++t2) r += q[i * d + t2] * v[j * d + t2];
        out[i * os + j] = r;
      }
    }
  } else {
    alignas(32) float lane[lanes];
    for (int i = 0; i < QT; ++i)
      for (int j = 0; j < VT; ++j) {
        _mm256_store_ps(lane, acc[i][j]);
        out[i * os + j] = finish(lane, q + i * d, v + j * d, k, d);
      }
  }
}

// Covers the nq x nv block with the largest tiles that fit, then the edges.
template <bool avx>
void drive(const float* q, size_t nq, const float* v, size_t nv, size_t d, float* out, size_t os) {
  auto tile = [&](auto qt, auto vt, size_t i, size_t j) {
    constexpr int QT = decltype(qt)::value, VT = decltype(vt)::value;
    if constexpr (avx)
      tile_avx2<QT, VT>(q + i * d, v + j * d, d, out + i * os + j, os);
    else
      tile_portable<QT, VT>(q + i * d, v + j * d, d, out + i * os + j, os);
  };
  using one = std::integral_constant<int, 1>;
  using three = std::integral_constant<int, 3>;
  using four = std::integral_constant<int, 4>;
  size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    size_t j = 0;
    for (; j + 3 <= nv; j += 3) tile(four{}, three{}, i, j);
    for (; j < nv; ++j) tile(four{}, one{}, i, j);
  }
  for (; i < nq; ++i) {
    size_t j = 0;
    for (; j + 4 <= nv; j += 4) tile(one{}, four{}, i, j);
    for (; j < nv; ++j) tile(one{}, one{}, i, j);
  }
}

// Squared norms of four rows at a time: four independent FMA chains.
__attribute__((target("avx2,fma"))) void norms_avx2(const float* v, size_t nv, size_t d, float* out) {
  size_t j = 0;
  for (; j + 4 <= nv; j += 4) {
    const float* r = v + j * d;
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t k = 0;
    for (; k + lanes <= d; k += lanes)
      for (int x = 0; x < 4; ++x) {
        const __m256 e = _mm256_loadu_ps(r + x * d + k);
        a[x] = _mm256_fmadd_ps(e, e, a[x]);
      }
    alignas(16) float sum[4];
    _mm_store_ps(sum, reduce4(a[0], a[1], a[2], a[3]));
    for (int x = 0; x < 4; ++x) {
      for (size_t t = k; t < d; ++t) sum[x] += r[x * d + t] * r[x * d + t];
      out[j + x] = sum[x];
    }
  }
  for (; j < nv; ++j) tile_avx2<1, 1>(v + j * d, v + j * d, d, out + j, 1);
}

bool detect_avx2() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace

bool uses_avx2() noexcept {
  static const bool yes = detect_avx2();
  return yes;
}

void dot_block(const float* q, size_t nq, const float* v, size_t nv, size_t d, float* out,
               size_t out_stride) {
  if (uses_avx2())
    drive<true>(q, nq, v, nv, d, out, out_stride);
  else
    drive<false>(q, nq, v, nv, d, out, out_stride);
}

void squared_norms(const float* v, size_t nv, size_t d, float* out) {
  if (uses_avx2()) return norms_avx2(v, nv, d, out);
  // A vector's norm is its dot product with itself.
  for (size_t j = 0; j < nv; ++j) tile_portable<1, 1>(v + j * d, v + j * d, d, out + j, 1);
}

}  // namespace serialake::search_detail
