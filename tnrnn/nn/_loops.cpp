// The time loops of tnrnn.nn.recurrence without the Python interpreter between their steps,
// and with modReLU's five elementwise operations per step (abs, add the bias, clamp at 0,
// sign, multiply) as one pass over the step's states, forward and backward. At the sweep's
// sizes each ATen operation costs a few microseconds, about what its arithmetic does.
//
// The same numbers as the Python loops, bit for bit: the matrix products are the same ATen
// calls, and every fused operation is exact (abs, clamp, sign, a product with a sign) or
// one IEEE rounding in the same order (|z| + b; g s added into the bias gradient), with NaN
// and signed zeros as torch treats them (sign(NaN) = 0, clamp keeps -0 and NaN).
//
// Built on first use by tnrnn.nn._compiled (torch.utils.cpp_extension); tnrnn.nn.recurrence
// falls back to its Python loops when no compiler is at hand. Each function here mirrors the
// Python function of the same name there; change both together (tests/test_recurrence_loops.py
// checks them against each other).
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

namespace {

constexpr int64_t kTanh = 0, kModrelu = 1, kRac = 2;

// A view indexed by time first: (T, B, R) as it is, (K, T, B, R) as (T, K, B, R).
at::Tensor time_major(const at::Tensor& x) { return x.dim() == 3 ? x : x.transpose(0, 1); }

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
        for (int64_t r = 0; r < width; ++r) {
          const scalar_t v = zk[row + r];
          scalar_t magnitude = std::abs(v) + bk[r];
          if (magnitude < 0) magnitude = 0;  // NaN and -0 stay, as clamp_(min=0)
          hk[row + r] = sign_of(v) * magnitude;
        }
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
      for (int64_t i = 0; i < size; ++i) {
        const scalar_t s = sign_of(hk[i]);
        const scalar_t gs = gk[i] * s;
        bk[i] += gs;
        ik[i] = gs * s;
      }
    }
  });
}

void forward_loop(int64_t kind, const at::Tensor& drives, const at::Tensor& w_t, const std::optional<at::Tensor>& bias,
                  const std::optional<at::Tensor>& initial, at::Tensor states_storage) {
  std::vector<at::Tensor> states = time_major(states_storage).unbind(0);
  std::vector<at::Tensor> drive = time_major(drives).unbind(0);
  const int64_t steps = static_cast<int64_t>(states.size());
  if (kind == kRac) {
    states[0].copy_(drive[0]);
    for (int64_t t = 1; t < steps; ++t) {
      at::matmul_out(states[t], states[t - 1], w_t);
      states[t].mul_(drive[t]);
    }
    return;
  }
  const bool fused = kind == kModrelu && fusable(drives) && bias->is_contiguous() && rows_contiguous(states[0]) &&
                     rows_contiguous(drive[0]);
  if (fused) {
    at::Tensor z = at::empty_like(states[0], at::MemoryFormat::Contiguous);  // z_t, then modReLU into h_t
    for (int64_t t = 0; t < steps; ++t) {
      if (t == 0 && !initial.has_value()) {
        modrelu_pass(drive[0], *bias, states[0]);
        continue;
      }
      addmm_into(z, drive[t], t == 0 ? *initial : states[t - 1], w_t);
      modrelu_pass(z, *bias, states[t]);
    }
    return;
  }
  at::Tensor magnitude;
  if (kind == kModrelu) magnitude = at::empty_like(states[0]);
  for (int64_t t = 0; t < steps; ++t) {
    at::Tensor& h = states[t];
    if (t == 0) {
      if (!initial.has_value()) {
        h.copy_(drive[0]);
      } else {
        addmm_into(h, drive[0], *initial, w_t);
      }
    } else {
      addmm_into(h, drive[t], states[t - 1], w_t);
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
  if (!outside.defined()) return at::matmul_out(out, grad_inner, w);
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
  if (modrelu && fusable(states_storage) && rows_contiguous(states[0]) && rows_contiguous(grad_inner[0]) && grad_bias->is_contiguous() &&
      (last_only || rows_contiguous(grad_states[0]))) {
    at::Tensor bias_sum = *grad_bias;
    for (int64_t t = steps - 1; t >= 0; --t) {
      modrelu_grad_pass(states[t], g, bias_sum, grad_inner[t]);
      if (t > 0) g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
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
    if (modrelu) {
      at::sign_out(scratch, h);
      at::mul_out(grad_inner[t], g, scratch);
      bias_sum.add_(grad_inner[t]);
      grad_inner[t].mul_(scratch);
    } else {
      at::mul_out(grad_inner[t], h, h);
      at::addcmul_out(grad_inner[t], g, g, grad_inner[t], -1.0);
    }
    if (t > 0) g = carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2]);
  }
}

}  // namespace

TORCH_LIBRARY(tnrnn_loops, m) {
  m.def("forward_loop(int kind, Tensor drives, Tensor w_t, Tensor? bias, Tensor? initial, Tensor(a!) states) -> ()");
  m.def("backward_loop(int kind, Tensor states, Tensor w, Tensor? drives, Tensor grad_output, bool last_only, "
        "Tensor(a!) grad_inner, Tensor(b!)? grad_bias, Tensor(c!)? carried, Tensor(d!)? grad_drives) -> ()");
}

TORCH_LIBRARY_IMPL(tnrnn_loops, CPU, m) {
  m.impl("forward_loop", forward_loop);
  m.impl("backward_loop", backward_loop);
}
