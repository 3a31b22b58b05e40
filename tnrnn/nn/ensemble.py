"""K networks of one architecture run as one: stacked weights, batched matrix products.

Training K seeds of a small recurrent network one after the other spends most of the
time on per-step overhead: at R ≈ 30–60 a time step's matrix product is a few
microseconds of arithmetic behind a fixed launch cost, paid T times forward and T times
backward per layer and per batch. :func:`stacked_forward` evaluates K
:class:`~tnrnn.nn.stack.DeepRNN` members together: their weights are stacked along a
leading member axis (``torch.stack``, differentiable, so each member's parameters get
exactly their own gradients), every time step is one batched product
(:func:`tnrnn.nn.recurrence.recurrence` with a member axis), and the overhead is paid
once for all K.

The members stay ordinary modules with their own parameters, orthogonal maps, optimisers
and checkpoints; only the arithmetic is shared. ``tnrnn.nn.train_ensemble`` builds on
this; a member of an ensemble follows the same run as its seed trained alone (equal
losses up to float rounding: 1e-9 in float64 after hundreds of steps, tested).

Examples
--------
>>> import torch
>>> from tnrnn.nn.stack import DeepRNN
>>> members = [DeepRNN("modrelu", 3, 2, hidden=4, depth=2, orthogonal="scaled_cayley").double()
...            for _ in range(3)]
>>> x = torch.randn(3, 5, 7, 3, dtype=torch.float64)
>>> together = stacked_forward(members, x)
>>> alone = torch.stack([m(x[k]) for k, m in enumerate(members)])
>>> together.shape, bool(torch.allclose(together, alone))
(torch.Size([3, 5, 7, 2]), True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize

from tnrnn.nn._compiled import compiled_ops_for
from tnrnn.nn.orthogonal import ScaledCayley
from tnrnn.nn.recurrence import recurrence
from tnrnn.nn.stack import DeepRNN

__all__ = ["stacked_forward", "check_stackable", "clip_linf_members"]


def check_stackable(models: Sequence[DeepRNN]) -> None:
    """Raise ``ValueError`` unless the models share one stackable architecture.

    Stackable: rac, tanh or modReLU layers (LSTM and GRU are torch's fused modules),
    the same depth, width, input and output sizes, and the same orthogonal map.
    """
    if not models:
        raise ValueError("an ensemble needs at least one member")
    first = models[0]
    if first.layers is None:
        raise ValueError(f"cell {first.cell!r} cannot be stacked into an ensemble: use rac, tanh or modrelu")
    shape = (first.cell, first.depth, first.hidden, first.input_size, first.output_size, first.orthogonal)
    for index, model in enumerate(models):
        found = (model.cell, model.depth, model.hidden, model.input_size, model.output_size, model.orthogonal)
        if found != shape:
            raise ValueError(f"ensemble member {index} is (cell, depth, hidden, input, output, orthogonal) = "
                             f"{found}, member 0 is {shape}: members must share one architecture")


def clip_linf_members(grad: torch.Tensor, threshold: float) -> torch.Tensor:
    """:func:`~tnrnn.nn.cells.clip_linf` of every member's matrix ``grad[k]``, with no host sync.

    Each ``(R, R)`` slice is rescaled to an ∞-norm of at most ``threshold``; a slice with a
    non-finite entry becomes 0. The same numbers as clipping the members one by one.

    Examples
    --------
    >>> g = torch.tensor([[[1.0, -20.0]], [[1.0, 2.0]], [[float("nan"), 1.0]]])
    >>> clip_linf_members(g, 10.0).tolist()
    [[[0.5, -10.0]], [[1.0, 2.0]], [[0.0, 0.0]]]
    """
    flat = grad.reshape(grad.shape[0], -1)
    finite = torch.isfinite(flat).all(1)
    largest = flat.abs().amax(1)
    scale = torch.where(largest > threshold, threshold / largest, torch.ones_like(largest))
    shape = (-1,) + (1,) * (grad.dim() - 1)
    return torch.where(finite.view(shape), grad * scale.view(shape), torch.zeros_like(grad))


class _Lookup(torch.autograd.Function):
    """The first layer's drives from symbols: ``W^I`` of every member ``(K, R, V)`` read at its rows.

    ``rows`` index the members' stacked tables ``(K·V, R)`` (member k's symbol v is row
    ``k·V + v``); the result is ``F.embedding``'s, whose backward adds the gradient rows by
    ``index_add_`` (compiled where the recurrence loops build, :mod:`tnrnn.nn._compiled`):
    the same numbers as embedding's backward, which adds the same rows in the same
    (ascending) order, one BLAS call per row (1.6 ms against 0.5 ms for index_add_ and
    0.18 ms compiled, for the 25,600 rows of one ensemble step at the sweep's sizes). The
    gradient of ``W^I`` comes back contiguous, as :class:`_Project`'s.
    """

    @staticmethod
    def forward(ctx, w_input: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(rows)
        ctx.w_shape = w_input.shape
        members, width, symbols = w_input.shape
        return F.embedding(rows, w_input.transpose(1, 2).reshape(members * symbols, width))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if not ctx.needs_input_grad[0]:
            return None, None
        (rows,) = ctx.saved_tensors
        members, width, symbols = ctx.w_shape
        grad_table = grad.new_zeros(members * symbols, width)
        ops = compiled_ops_for(grad.device)
        if ops is None:
            grad_table.index_add_(0, rows.reshape(-1), grad.reshape(-1, width))
        else:  # the same sums in the same order, without a BLAS call per row
            ops.index_add_rows(grad_table, rows.reshape(-1), grad.reshape(-1, width).contiguous())
        return grad_table.view(members, symbols, width).transpose(1, 2).contiguous(), None


class _Project(torch.autograd.Function):
    """``x @ w^T`` for every member (``torch.bmm(x, w.transpose(1, 2))``), with ``w``'s gradient contiguous.

    The gradient is autograd's own (the same two products), but autograd hands ``w`` the
    transpose of a contiguous product, and each member's slice of it was then copied on its
    own into the member's parameter (two operations per member and matrix: 20 per step at
    depth 3). Here one copy serves all members.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return torch.bmm(x, w.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, w = ctx.saved_tensors
        grad_x = torch.bmm(grad, w) if ctx.needs_input_grad[0] else None
        grad_w = torch.bmm(x.transpose(1, 2), grad).transpose(1, 2).contiguous() if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


def _stacked_hidden(models: Sequence[DeepRNN]) -> list[torch.Tensor]:
    """``W^H`` of every layer, each ``(K, R, R)`` for the K members: the scaled Cayley maps of all
    layers and members as one batched solve where the maps allow it (each layer's members
    sharing its scaling ``D``), each member's own map otherwise."""
    depth = models[0].depth
    layers = [[model.layers[index] for model in models] for index in range(depth)]
    maps = [[layer.recurrent.parametrizations.weight[0] if parametrize.is_parametrized(layer.recurrent, "weight")
             else None for layer in at_depth] for at_depth in layers]
    batched = all(isinstance(m, ScaledCayley) for at_depth in maps for m in at_depth)
    if batched and len(models) > 1:  # one check for all layers: every member's D equals member 0's
        scalings = torch.stack([m.scaling for at_depth in maps for m in at_depth]).unflatten(0, (depth, len(models)))
        batched = bool((scalings == scalings[:, :1]).all())
    if not batched:
        return [torch.stack([layer.recurrent_matrix() for layer in at_depth]) for at_depth in layers]
    upper = torch.stack([layer.recurrent.parametrizations.weight.original
                         for at_depth in layers for layer in at_depth]).triu(1)
    skew = upper - upper.mT
    eye = torch.eye(skew.shape[-1], dtype=skew.dtype, device=skew.device)
    solved = torch.linalg.solve(eye + skew, eye - skew).unflatten(0, (depth, len(models)))
    scalings = torch.stack([at_depth[0].scaling for at_depth in maps]).view(depth, 1, 1, -1)
    hidden = solved * scalings  # (L, K, R, R)
    clips = {at_depth[0].recurrent_clip for at_depth in layers}
    if hidden.requires_grad and torch.is_grad_enabled() and clips != {None}:
        if len(clips) == 1:  # one clip of every layer's and member's matrix (the same numbers as one per layer)
            hidden.register_hook(functools.partial(_clip_every_layer, threshold=clips.pop()))
        else:
            return [_clipped(w, at_depth[0].recurrent_clip) for w, at_depth in zip(hidden.unbind(0), layers)]
    return list(hidden.unbind(0))


def _clipped(w: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """``w`` with its members' gradient clipped at ``threshold`` (None: unclipped)."""
    if threshold is not None:
        w.register_hook(functools.partial(clip_linf_members, threshold=threshold))
    return w


def _clip_every_layer(grad: torch.Tensor, threshold: float) -> torch.Tensor:
    """:func:`clip_linf_members` of ``(L, K, R, R)`` matrices: every layer's and member's own clip."""
    return clip_linf_members(grad.flatten(0, 1), threshold).view(grad.shape)


def stacked_forward(models: Sequence[DeepRNN], inputs: torch.Tensor,
                    initial_states: torch.Tensor | None = None, *, last_step_only: bool = False) -> torch.Tensor:
    """Per-step outputs of K networks, each on its own batch, in one pass.

    Parameters
    ----------
    models : sequence of DeepRNN
        K members of one architecture (see :func:`check_stackable`).
    inputs : torch.Tensor, shape (K, B, T, input_size), or integer (K, B, T)
        Member k reads ``inputs[k]``. Integer inputs are symbols, read as their one-hot
        vectors: the first layer's drive is then a row lookup of ``W^I`` instead of a
        product with the one-hot vector (the same numbers, without the product).
    initial_states : torch.Tensor, shape (K, L, B, R), optional
        ``h^l_0`` of every member and layer (tanh and modReLU; default 0).
    last_step_only : bool
        Read out the last step only (tasks whose loss reads nothing else): the output is
        then ``(K, B, 1, output_size)``, and neither the readout nor its gradient touches
        the other steps.

    Returns
    -------
    torch.Tensor, shape (K, B, T, output_size)
        ``out[k]`` equals ``models[k](inputs[k], initial_states[k])`` up to float rounding.

    Raises
    ------
    ValueError
        Members of different architectures, inputs or initial states of the wrong shape,
        symbols outside the input alphabet.

    Notes
    -----
    O(K · B · T · L · R²) arithmetic in O(T · L) batched products (forward; the same
    backward), against O(K · T · L) products for K separate forward passes. The scaled
    Cayley maps of all members and layers are one batched solve, and their gradient clip
    one batched operation with no host synchronisation (:func:`clip_linf_members`).
    """
    check_stackable(models)
    first = models[0]
    tokens = not inputs.is_floating_point()
    if tokens:
        if inputs.dim() != 3 or inputs.shape[0] != len(models):
            raise ValueError(f"symbol inputs must have shape ({len(models)}, batch, T), got {tuple(inputs.shape)}")
        if inputs.numel() and (int(inputs.min()) < 0 or int(inputs.max()) >= first.input_size):
            raise ValueError(f"symbol inputs must lie in [0, {first.input_size}), got values in "
                             f"[{int(inputs.min())}, {int(inputs.max())}]")
    elif inputs.dim() != 4 or inputs.shape[0] != len(models) or inputs.shape[-1] != first.input_size:
        raise ValueError(f"inputs must have shape ({len(models)}, batch, T, {first.input_size}), "
                         f"got {tuple(inputs.shape)}")
    if initial_states is not None:
        if first.cell == "rac":
            raise ValueError("a RAC starts from the convention W^H h_0 = 1: it takes no initial states")
        expected = (len(models), first.depth, inputs.shape[1], first.hidden)
        if tuple(initial_states.shape) != expected:
            raise ValueError(f"initial_states must have shape {expected}, got {tuple(initial_states.shape)}")
    members, batch, steps = inputs.shape[:3]
    # Member-major (K, T, B, ·) throughout: every whole-sequence product is one batched
    # product over (K, T·B, ·) views, and the recurrence indexes steps along axis 1.
    if tokens:
        offsets = torch.arange(members, device=inputs.device).mul_(first.input_size).view(members, 1)
        rows = inputs.transpose(1, 2).reshape(members, steps * batch) + offsets  # rows of the stacked W^I
    else:
        h = inputs.transpose(1, 2).reshape(members, steps * batch, -1)
    with parametrize.cached():  # each member's orthogonal map evaluated once (maps not batched below)
        hidden = _stacked_hidden(models)
        for index in range(first.depth):
            layers = [model.layers[index] for model in models]
            w_input = torch.stack([layer.input.weight for layer in layers])
            if index == 0 and tokens:
                drive = _Lookup.apply(w_input, rows)
            else:
                drive = _Project.apply(h, w_input)
            if layers[0].input.bias is not None:
                drive = drive + torch.stack([layer.input.bias for layer in layers]).unsqueeze(1)
            drive = drive.view(members, steps, batch, -1)
            w = hidden[index]
            bias = getattr(layers[0], "bias", None)
            if bias is not None:
                bias = torch.stack([layer.bias for layer in layers]).unsqueeze(1)
            initial = None if initial_states is None else initial_states[:, index]
            if last_step_only and index == first.depth - 1:
                h = recurrence(layers[0].kind, drive, w, bias, initial, last_only=True)
            else:
                h = recurrence(layers[0].kind, drive, w, bias, initial).view(members, steps * batch, -1)
    if last_step_only:
        steps = 1
    out = _Project.apply(h, torch.stack([model.readout.weight for model in models]))
    if first.readout.bias is not None:
        out = out + torch.stack([model.readout.bias for model in models]).unsqueeze(1)
    return out.view(members, steps, batch, -1).transpose(1, 2)
