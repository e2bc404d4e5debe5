#pragma once
// The arithmetic of exact search: blocks of dot products and squared norms,
// with an AVX2+FMA version chosen at run time (__builtin_cpu_supports) and a
// portable one for other CPUs. Both add in eight interleaved partial sums, so
// their results differ only by the rounding of FMA.

#include <cstddef>

namespace serialake::search_detail {

/// out[i * out_stride + j] = dot(q_i, v_j) for the `nq` query vectors at `q` and
/// the `nv` stored vectors at `v`, each `d` floats, back to back.
void dot_block(const float* q, size_t nq, const float* v, size_t nv, size_t d, float* out,
               size_t out_stride);

/// out[j] = dot(v_j, v_j) for the `nv` vectors at `v` of `d` floats.
void squared_norms(const float* v, size_t nv, size_t d, float* out);

/// True if this CPU runs the AVX2+FMA kernels.
bool uses_avx2() noexcept;

}  // namespace serialake::search_detail
