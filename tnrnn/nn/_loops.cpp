// The time loops of tnrnn.nn.recurrence without the Python interpreter between their steps,
// and with modReLU's five elementwise operations per step (abs, add the bias, clamp at 0,
// sign, multiply) as one pass over the step's states, forward and backward. At the sweep's
// sizes each ATen operation costs a few microseconds, about what its arithmetic does.
//
// The same numbers as the Python loops, bit for bit: the matrix products are the same ATen
// calls, and every fused operation is exact (abs, clamp, sign, a product with a sign, a
// transpose) or one IEEE rounding in the same order (|z| + b; the drive added to a transposed
// product; g s added into the bias gradient), with NaN and signed zeros as torch treats them
// (sign(NaN) = 0, clamp keeps -0 and NaN).
//
// Built on first use by tnrnn.nn._compiled (torch.utils.cpp_extension); tnrnn.nn.recurrence
// falls back to its Python loops when no compiler is at hand. Each loop here mirrors the
// Python function of the same name there; change both together (tests/test_recurrence_loops.py
// checks them against each other). index_add_rows mirrors torch's index_add_ (the ensemble's
// lookup gradient, tnrnn.nn.ensemble).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kTanh = 0, kModrelu = 1, kRac = 2;

// A view indexed by time first: (T, B, R) as it is, (K, T, B, R) as (T, K, B, R).
at::Tensor time_major(const at::Tensor& x) { return x.dim() == 3 ? x : x.transpose(0, 1); }

// a @ b into out, one matrix or one per ensemble member: bmm for members, not matmul, whose checks
// and reshapes cost a fifth of a small product.
at::Tensor& product_into(at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  return a.dim() == 3 ? at::bmm_out(out, a, b) : at::matmul_out(out, a, b);
}

// bias + a @ b into out: one matrix, or one per ensemble member (leading K axis).
void addmm_into(at::Tensor& out, const at::Tensor& bias, const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() == 2) {
    at::addmm_out(out, bias, a, b);
  } else {
    at::baddbmm_out(out, bias, a, b);
  }
}

// Whether one step's (B, R) or (K, B, R) block has contiguous rows, as the fused passes read it.
bool rows_contiguous(const at::Tensor& x) {
  return x.stride(-1) == 1 && (x.size(-2) <= 1 || x.stride(-2) == x.size(-1));
}

// Float and double: the types the fused passes are compiled for.
bool fusable(const at::Tensor& x) {
  return x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble;
}

template <typename scalar_t>
scalar_t sign_of(scalar_t v) {
  return static_cast<scalar_t>((v > 0) - (v < 0));  // 0 for NaN and for both zeros, as torch.sign
}

template <typename scalar_t>
scalar_t modrelu_of(scalar_t v, scalar_t b) {
  scalar_t magnitude = std::abs(v) + b;
  if (magnitude < 0) magnitude = 0;  // NaN and -0 stay, as clamp_(min=0)
  return sign_of(v) * magnitude;
}

// With s = sign(h): bias_sum += g s, then inner = (g s) s (both exact but the sum: one rounding).
template <typename scalar_t>
void modrelu_grad_of(scalar_t h, scalar_t g, scalar_t& bias_sum, scalar_t& inner) {
  const scalar_t s = sign_of(h);
  const scalar_t gs = g * s;
  bias_sum += gs;
  inner = gs * s;
}

// h = sign(z) relu(|z| + b), b of shape (K, 1, R) or (R,): one member's bias row per block.
void modrelu_pass(const at::Tensor& z, const at::Tensor& bias, at::Tensor& h) {
  const int64_t members = z.dim() == 3 ? z.size(0) : 1, size = z.size(-2) * z.size(-1), width = z.size(-1);
  const int64_t z_stride = z.dim() == 3 ? z.stride(0) : 0, h_stride = h.dim() == 3 ? h.stride(0) : 0;
  AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "modrelu_pass", [&] {
    const scalar_t* z_data = z.const_data_ptr<scalar_t>();
    const scalar_t* b_data = bias.const_data_ptr<scalar_t>();
    scalar_t* h_data = h.data_ptr<scalar_t>();
    for (int64_t k = 0; k < members; ++k) {
      const scalar_t* zk = z_data + k * z_stride;
      const scalar_t* bk = b_data + k * width;
      scalar_t* hk = h_data + k * h_stride;
      for (int64_t row = 0; row < size; row += width) {
        for (int64_t r = 0; r < width; ++r) hk[row + r] = modrelu_of(zk[row + r], bk[r]);
      }
    }
  });
}

// With s = sign(h): grad_bias += g s, then grad_inner = (g s) s.
void modrelu_grad_pass(const at::Tensor& h, const at::Tensor& g, at::Tensor& grad_bias, at::Tensor& grad_inner) {
  const int64_t members = h.dim() == 3 ? h.size(0) : 1, size = h.size(-2) * h.size(-1);
  const int64_t h_stride = h.dim() == 3 ? h.stride(0) : 0, g_stride = g.dim() == 3 ? g.stride(0) : 0;
  const int64_t i_stride = grad_inner.dim() == 3 ? grad_inner.stride(0) : 0;
  const int64_t b_stride = grad_bias.dim() == 3 ? grad_bias.stride(0) : 0;
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "modrelu_grad_pass", [&] {
    const scalar_t* h_data = h.const_data_ptr<scalar_t>();
    const scalar_t* g_data = g.const_data_ptr<scalar_t>();
    scalar_t* b_data = grad_bias.data_ptr<scalar_t>();
    scalar_t* i_data = grad_inner.data_ptr<scalar_t>();
    for (int64_t k = 0; k < members; ++k) {
      const scalar_t* hk = h_data + k * h_stride;
      const scalar_t* gk = g_data + k * g_stride;
      scalar_t* bk = b_data + k * b_stride;
      scalar_t* ik = i_data + k * i_stride;
      for (int64_t i = 0; i < size; ++i) modrelu_grad_of(hk[i], gk[i], bk[i], ik[i]);
    }
  });
}

// The step products of the modReLU loops run transposed: z^T = W h_{t-1}^T, a (R, B) block per
// member, instead of z = h_{t-1} W^T. MKL's small products are faster with the B sequences as the
// long, contiguous side (at the sweep's sizes 18 against 25 µs per step at R = 28, 64 against
// 83 µs at R = 60); the passes below read the product back transposed, a tile of columns at a
// time, adding the drive there (forward) with the same rounding as the product that added it.
// The backward does the same where no gradient comes from outside (the top layer of a loss on
// the last step); where one does, one product that adds it is faster. The Python loops do the same. Against the
// untransposed product: the same bits in float32 at the sweep's widths (MKL sums each entry in
// the same order either way; 60-step ensembles at R = 28, 36, 60 hash equal), other bits at
// widths below 12 and in float64 (rounding: 1e-15 relative).
constexpr int64_t kTile = 32;  // columns of the transposed product per tile

#if defined(__GNUC__)
typedef float float4 __attribute__((vector_size(16)));
typedef int int4 __attribute__((vector_size(16)));
#if defined(__clang__)
#define TNRNN_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define TNRNN_SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, (int4){i, j, k, l})
#endif

// A 4 x 4 block of floats transposed in registers: from rows of src (stride ls) to rows of dst (stride ld).
inline void transpose_4x4(const float* src, int64_t ls, float* dst, int64_t ld) {
  float4 v0, v1, v2, v3;
  __builtin_memcpy(&v0, src, 16);
  __builtin_memcpy(&v1, src + ls, 16);
  __builtin_memcpy(&v2, src + 2 * ls, 16);
  __builtin_memcpy(&v3, src + 3 * ls, 16);
  const float4 t0 = TNRNN_SHUFFLE(v0, v1, 0, 4, 1, 5), t1 = TNRNN_SHUFFLE(v0, v1, 2, 6, 3, 7);
  const float4 t2 = TNRNN_SHUFFLE(v2, v3, 0, 4, 1, 5), t3 = TNRNN_SHUFFLE(v2, v3, 2, 6, 3, 7);
  const float4 w0 = TNRNN_SHUFFLE(t0, t2, 0, 1, 4, 5), w1 = TNRNN_SHUFFLE(t0, t2, 2, 3, 6, 7);
  const float4 w2 = TNRNN_SHUFFLE(t1, t3, 0, 1, 4, 5), w3 = TNRNN_SHUFFLE(t1, t3, 2, 3, 6, 7);
  __builtin_memcpy(dst, &w0, 16);
  __builtin_memcpy(dst + ld, &w1, 16);
  __builtin_memcpy(dst + 2 * ld, &w2, 16);
  __builtin_memcpy(dst + 3 * ld, &w3, 16);
}
#endif

// tile[i][r] = src[r][i] for r < rows, i < columns: src's rows of stride `stride`, tile's rows of `rows`
// values (a copy: exact, in any order).
template <typename scalar_t>
void transpose_tile(const scalar_t* src, int64_t stride, int64_t rows, int64_t columns, scalar_t* tile) {
  int64_t r0 = 0, i0 = 0;
#if defined(__GNUC__)
  if constexpr (std::is_same_v<scalar_t, float>) {
    for (r0 = 0; r0 + 4 <= rows; r0 += 4) {
      for (i0 = 0; i0 + 4 <= columns; i0 += 4) transpose_4x4(src + r0 * stride + i0, stride, tile + i0 * rows + r0, rows);
    }
  }
#endif
  for (int64_t r = 0; r < rows; ++r) {  // what the 4 x 4 blocks left: all of it for doubles
    const int64_t first = r < r0 ? i0 : 0;
    for (int64_t i = first; i < columns; ++i) tile[i * rows + r] = src[r * stride + i];
  }
}

// h = sign(v) relu(|v| + b), v = (z^T)^T + d: zt the transposed product (members, R, B) contiguous,
// d and h (members, B, R) blocks with contiguous rows.
void modrelu_pass_transposed(const at::Tensor& zt, const at::Tensor& drive, const at::Tensor& bias, at::Tensor& h) {
  const int64_t members = zt.dim() == 3 ? zt.size(0) : 1, width = zt.size(-2), batch = zt.size(-1);
  const int64_t d_stride = drive.dim() == 3 ? drive.stride(0) : 0, h_stride = h.dim() == 3 ? h.stride(0) : 0;
  AT_DISPATCH_FLOATING_TYPES(zt.scalar_type(), "modrelu_pass_transposed", [&] {
    const scalar_t* z_data = zt.const_data_ptr<scalar_t>();
    const scalar_t* d_data = drive.const_data_ptr<scalar_t>();
    const scalar_t* b_data = bias.const_data_ptr<scalar_t>();
    scalar_t* h_data = h.data_ptr<scalar_t>();
    std::vector<scalar_t> tile(kTile * width);
    for (int64_t k = 0; k < members; ++k) {
      const scalar_t* bk = b_data + k * width;
      for (int64_t start = 0; start < batch; start += kTile) {
        const int64_t columns = std::min(kTile, batch - start);
        transpose_tile(z_data + k * width * batch + start, batch, width, columns, tile.data());
        for (int64_t i = 0; i < columns; ++i) {
          const scalar_t* t = tile.data() + i * width;
          const scalar_t* dr = d_data + k * d_stride + (start + i) * width;
          scalar_t* hr = h_data + k * h_stride + (start + i) * width;
          for (int64_t r = 0; r < width; ++r) hr[r] = modrelu_of(t[r] + dr[r], bk[r]);
        }
      }
    }
  });
}

// modrelu_grad_pass with g = (g^T)^T: gt the transposed product (members, R, B) contiguous.
void modrelu_grad_pass_transposed(const at::Tensor& h, const at::Tensor& gt, at::Tensor& grad_bias,
                                  at::Tensor& grad_inner) {
  const int64_t members = gt.dim() == 3 ? gt.size(0) : 1, width = gt.size(-2), batch = gt.size(-1);
  const int64_t h_stride = h.dim() == 3 ? h.stride(0) : 0, i_stride = grad_inner.dim() == 3 ? grad_inner.stride(0) : 0;
  const int64_t b_stride = grad_bias.dim() == 3 ? grad_bias.stride(0) : 0;
  AT_DISPATCH_FLOATING_TYPES(h.scalar_type(), "modrelu_grad_pass_transposed", [&] {
    const scalar_t* h_data = h.const_data_ptr<scalar_t>();
    const scalar_t* g_data = gt.const_data_ptr<scalar_t>();
    scalar_t* b_data = grad_bias.data_ptr<scalar_t>();
    scalar_t* i_data = grad_inner.data_ptr<scalar_t>();
    std::vector<scalar_t> tile(kTile * width);
    for (int64_t k = 0; k < members; ++k) {
      for (int64_t start = 0; start < batch; start += kTile) {
        const int64_t columns = std::min(kTile, batch - start);
        transpose_tile(g_data + k * width * batch + start, batch, width, columns, tile.data());
        for (int64_t i = 0; i < columns; ++i) {
          const int64_t row = (start + i) * width;
          const scalar_t* t = tile.data() + i * width;
          const scalar_t* hr = h_data + k * h_stride + row;
          scalar_t* br = b_data + k * b_stride + row;
          scalar_t* ir = i_data + k * i_stride + row;
          for (int64_t r = 0; r < width; ++r) modrelu_grad_of(hr[r], t[r], br[r], ir[r]);
        }
      }
    }
  });
}

// The transposed step product into out (members, R, B): m @ state^T.
void product_transposed(at::Tensor& out, const at::Tensor& m, const at::Tensor& state) {
  if (state.dim() == 2) {
    at::mm_out(out, m, state.t());
  } else {
    at::bmm_out(out, m, state.transpose(1, 2));
  }
}

void forward_loop(int64_t kind, const at::Tensor& drives, const at::Tensor& w_t, const std::optional<at::Tensor>& bias,
                  const std::optional<at::Tensor>& initial, at::Tensor states_storage) {
  std::vector<at::Tensor> states = time_major(states_storage).unbind(0);
  std::vector<at::Tensor> drive = time_major(drives).unbind(0);
  const int64_t steps = static_cast<int64_t>(states.size());
  if (kind == kRac) {
    states[0].copy_(drive[0]);
    for (int64_t t = 1; t < steps; ++t) {
      product_into(states[t], states[t - 1], w_t);
      states[t].mul_(drive[t]);
    }
    return;
  }
  const bool modrelu = kind == kModrelu;
  at::Tensor zt;  // modReLU: the transposed step product z_t^T = W h_{t-1}^T, (K, R, B) or (R, B)
  if (modrelu) zt = at::empty(states[0].transpose(-1, -2).sizes(), states[0].options());
  const at::Tensor w = w_t.transpose(-1, -2);
  const bool fused = modrelu && fusable(drives) && bias->is_contiguous() && rows_contiguous(states[0]) &&
                     rows_contiguous(drive[0]);
  if (fused) {
    for (int64_t t = 0; t < steps; ++t) {
      if (t == 0 && !initial.has_value()) {
        modrelu_pass(drive[0], *bias, states[0]);
        continue;
      }
      product_transposed(zt, w, t == 0 ? *initial : states[t - 1]);
      modrelu_pass_transposed(zt, drive[t], *bias, states[t]);
    }
    return;
  }
  at::Tensor magnitude;
  if (modrelu) magnitude = at::empty_like(states[0]);
  for (int64_t t = 0; t < steps; ++t) {
    at::Tensor& h = states[t];
    if (t == 0 && !initial.has_value()) {
      h.copy_(drive[0]);
    } else if (modrelu) {
      product_transposed(zt, w, t == 0 ? *initial : states[t - 1]);
      at::add_out(h, zt.transpose(-1, -2), drive[t]);
    } else {
      addmm_into(h, drive[t], t == 0 ? *initial : states[t - 1], w_t);
    }
    if (kind == kTanh) {
      h.tanh_();
    } else {
      at::abs_out(magnitude, h).add_(*bias).clamp_(0);
      h.sign_().mul_(magnitude);
    }
  }
}

// outside + grad_inner @ w into out (outside undefined: no term from outside).
at::Tensor carry(const at::Tensor& outside, const at::Tensor& grad_inner, const at::Tensor& w, at::Tensor& out) {
  if (!outside.defined()) return product_into(out, grad_inner, w);
  addmm_into(out, outside, grad_inner, w);
  return out;
}

void backward_loop(int64_t kind, const at::Tensor& states_storage, const at::Tensor& w,
                   const std::optional<at::Tensor>& drives_storage, const at::Tensor& grad_output, bool last_only,
                   at::Tensor grad_inner_storage, const std::optional<at::Tensor>& grad_bias,
                   const std::optional<at::Tensor>& carried_storage,
                   const std::optional<at::Tensor>& grad_drives_storage) {
  std::vector<at::Tensor> states = time_major(states_storage).unbind(0);
  const int64_t steps = static_cast<int64_t>(states.size());
  // dL/dh_t from outside the recurrence; with last_only only the last step has one.
  std::vector<at::Tensor> grad_states;
  if (last_only) {
    grad_states.assign(steps, at::Tensor());
    grad_states[steps - 1] = grad_output;
  } else {
    grad_states = time_major(grad_output).unbind(0);
  }
  std::vector<at::Tensor> grad_inner = time_major(grad_inner_storage).unbind(0);
  at::Tensor buffers[2] = {at::empty_like(states[0]), at::empty_like(states[0])};
  at::Tensor g = grad_states[steps - 1];
  if (kind == kRac) {
    std::vector<at::Tensor> drives = time_major(*drives_storage).unbind(0);
    std::vector<at::Tensor> carried = time_major(*carried_storage).unbind(0);
    std::vector<at::Tensor> grad_drives = time_major(*grad_drives_storage).unbind(0);
    for (int64_t t = steps - 1; t >= 0; --t) {
      at::mul_out(grad_drives[t], g, carried[t]);
      if (t > 0) {
        at::mul_out(grad_inner[t], g, drives[t]);
        g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
      }
    }
    return;
  }
  const bool modrelu = kind == kModrelu;
  // modReLU with no gradient from outside before the last step (last_only): dL/dh_{t-1} from the
  // transposed step product g^T = W^T grad_inner_t^T; W^T contiguous (a quarter faster at some widths)
  at::Tensor gt, w_back;
  if (modrelu && last_only) {
    w_back = w.transpose(-1, -2).contiguous();
    gt = at::empty(states[0].transpose(-1, -2).sizes(), states[0].options());
  }
  if (modrelu && fusable(states_storage) && rows_contiguous(states[0]) && rows_contiguous(grad_inner[0]) &&
      grad_bias->is_contiguous() && rows_contiguous(g) && (last_only || rows_contiguous(grad_states[0]))) {
    at::Tensor bias_sum = *grad_bias;
    modrelu_grad_pass(states[steps - 1], g, bias_sum, grad_inner[steps - 1]);
    for (int64_t t = steps - 1; t > 0; --t) {
      if (grad_states[t - 1].defined()) {  // with a term from outside: one product adds it (faster here)
        g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
        modrelu_grad_pass(states[t - 1], g, bias_sum, grad_inner[t - 1]);
      } else {
        product_transposed(gt, w_back, grad_inner[t]);
        modrelu_grad_pass_transposed(states[t - 1], gt, bias_sum, grad_inner[t - 1]);
      }
    }
    return;
  }
  at::Tensor scratch;
  at::Tensor bias_sum;
  if (modrelu) {
    scratch = at::empty_like(states[0]);
    bias_sum = *grad_bias;
  }
  for (int64_t t = steps - 1; t >= 0; --t) {
    const at::Tensor& h = states[t];
    if (modrelu && t < steps - 1 && !grad_states[t].defined()) g = gt.transpose(-1, -2);
    if (modrelu) {
      at::sign_out(scratch, h);
      at::mul_out(grad_inner[t], g, scratch);
      bias_sum.add_(grad_inner[t]);
      grad_inner[t].mul_(scratch);
      if (t > 0 && grad_states[t - 1].defined()) {
        g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
      } else if (t > 0) {
        product_transposed(gt, w_back, grad_inner[t]);
      }
      continue;
    }
    at::mul_out(grad_inner[t], h, h);
    at::addcmul_out(grad_inner[t], g, g, grad_inner[t], -1.0);
    if (t > 0) g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
  }
}

// table[rows[i]] += source[i] for every i in order: index_add_ along the first axis (the
// gradient of the ensemble's input lookup), with every row's sums in the same order as
// index_add_'s, which runs one BLAS call per row (the adds are the same: x + y, rounded once).
// table (V, R), rows (N,) int64 in [0, V), source (N, R); table and source contiguous.
void index_add_rows(at::Tensor table, const at::Tensor& rows, const at::Tensor& source) {
  const int64_t n = rows.size(0), width = table.size(1);
  const int64_t* row_data = rows.const_data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "index_add_rows", [&] {
    scalar_t* table_data = table.data_ptr<scalar_t>();
    const scalar_t* source_data = source.const_data_ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      scalar_t* destination = table_data + row_data[i] * width;
      const scalar_t* from = source_data + i * width;
      for (int64_t r = 0; r < width; ++r) destination[r] += from[r];
    }
  });
}

}  // namespace

TORCH_LIBRARY(tnrnn_loops, m) {
  m.def("forward_loop(int kind, Tensor drives, Tensor w_t, Tensor? bias, Tensor? initial, Tensor(a!) states) -> ()");
  m.def("backward_loop(int kind, Tensor states, Tensor w, Tensor? drives, Tensor grad_output, bool last_only, "
        "Tensor(a!) grad_inner, Tensor(b!)? grad_bias, Tensor(c!)? carried, Tensor(d!)? grad_drives) -> ()");
  m.def("index_add_rows(Tensor(a!) table, Tensor rows, Tensor source) -> ()");
}

TORCH_LIBRARY_IMPL(tnrnn_loops, CPU, m) {
  m.impl("forward_loop", forward_loop);
  m.impl("backward_loop", backward_loop);
  m.impl("index_add_rows", index_add_rows);
}
