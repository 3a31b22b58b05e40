"""Deep recurrent networks: L stacked layers, each feeding its state sequence to the next, and a
linear readout at every step (the deep RNNs of Levine et al., arXiv:1710.09431, and Ziv,
arXiv:2003.10163).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from tnrnn.nn.cells import LAYERS
from tnrnn.nn.orthogonal import orthogonal_parameters, orthogonality_error
from tnrnn.rac.circuits import RACSpec, RACWeights

__all__ = ["DeepRNN", "build_model", "count_parameters", "count_free_parameters", "INITS"]

#: Initialisation schemes: ``"default"`` (see :mod:`tnrnn.nn.cells`) and ``"paper"``, the
#: scoRNN code of Levine et al. / Ziv: input weights U(±0.01), modReLU bias 0, Xavier-uniform
#: readout with zero bias (RAC input weights keep their own start, near 1, in both).
INITS = ("default", "paper")


class DeepRNN(nn.Module):
    """A depth-L recurrent network with a per-step linear readout.

    Parameters
    ----------
    cell : {"rac", "tanh", "modrelu", "lstm", "gru"}
    input_size, output_size : int
    hidden : int
        R, the width of every layer.
    depth : int
        L.
    orthogonal : str or None
        Orthogonal map of every ``W^H`` (rac, tanh, modrelu).
    orthogonal_init : str
    generator : torch.Generator, optional
        Randomness of the initialisation (LSTM and GRU use torch's global generator,
        seeded by :func:`build_model`).
    init : {"default", "paper"}
        Initialisation scheme (see :data:`INITS`).
    recurrent_clip : float, optional
        Rescale each ``W^H`` gradient to an ∞-norm of at most this (rac, tanh, modrelu).

    Notes
    -----
    The RAC network has no bias anywhere (its readout included), so it is exactly the RAC
    of :mod:`tnrnn.rac.circuits` (see :meth:`to_rac_weights`). LSTM and GRU are one
    ``torch.nn.LSTM`` / ``GRU`` with ``num_layers = depth``, which stacks the same way.
    A forward pass costs O(B · T · L · R²).

    Examples
    --------
    >>> net = DeepRNN("modrelu", input_size=3, output_size=2, hidden=5, depth=2, orthogonal="cayley")
    >>> net(torch.zeros(4, 7, 3)).shape
    torch.Size([4, 7, 2])
    """

    def __init__(self, cell: str, input_size: int, output_size: int, hidden: int, depth: int,
                 orthogonal: str | None = None, orthogonal_init: str = "henaff",
                 generator: torch.Generator | None = None, init: str = "default",
                 recurrent_clip: float | None = None) -> None:
        super().__init__()
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; valid: {', '.join(INITS)}")
        self.cell, self.depth, self.hidden = cell, depth, hidden
        self.input_size, self.output_size, self.orthogonal = input_size, output_size, orthogonal
        if cell in ("lstm", "gru"):
            if orthogonal is not None:
                raise ValueError(f"orthogonal={orthogonal!r} applies to rac, tanh and modrelu, not {cell!r}")
            kind = nn.LSTM if cell == "lstm" else nn.GRU
            self.rnn = kind(input_size, hidden, num_layers=depth, batch_first=True)
            self.layers = None
        elif cell in LAYERS:
            self.rnn = None
            self.layers = nn.ModuleList(
                LAYERS[cell](input_size if i == 0 else hidden, hidden, orthogonal, orthogonal_init, generator)
                for i in range(depth))
        else:
            raise ValueError(f"unknown cell {cell!r}; valid cells: rac, tanh, modrelu, lstm, gru")
        self.readout = nn.Linear(hidden, output_size, bias=cell != "rac")
        if recurrent_clip is not None:
            if self.layers is None:
                raise ValueError(f"recurrent_clip applies to rac, tanh and modrelu, not {cell!r}")
            for layer in self.layers:
                layer.recurrent_clip = float(recurrent_clip)
        if init == "paper":
            self._paper_init(generator)

    def _paper_init(self, generator) -> None:
        with torch.no_grad():
            for layer in self.layers or ():
                if self.cell != "rac":
                    layer.input.weight.uniform_(-0.01, 0.01, generator=generator)
                if getattr(layer, "bias", None) is not None:
                    layer.bias.zero_()
            bound = (6.0 / (self.hidden + self.output_size)) ** 0.5
            self.readout.weight.uniform_(-bound, bound, generator=generator)
            if self.readout.bias is not None:
                self.readout.bias.zero_()

    def forward(self, x: torch.Tensor, initial_states: torch.Tensor | None = None) -> torch.Tensor:
        """Per-step outputs ``(B, T, output_size)`` of inputs ``(B, T, input_size)``.

        ``initial_states`` ``(L, B, R)``: the states ``h^l_0`` of the layers (default 0;
        tanh and modReLU only).
        """
        if self.rnn is not None:
            return self.readout(self.states(x, initial_states))
        # Time-major all the way up and through the readout: no (B, T, R) copies.
        return self.readout(self._states_time_major(x, initial_states)).transpose(0, 1)

    def states(self, x: torch.Tensor, initial_states: torch.Tensor | None = None) -> torch.Tensor:
        """The top layer's states ``(B, T, R)``."""
        if self.rnn is not None:
            self._check_inputs(x)
            if initial_states is not None:
                raise ValueError(f"initial states apply to rac, tanh and modrelu, not {self.cell!r}")
            return self.rnn(x)[0]
        return self._states_time_major(x, initial_states).transpose(0, 1)

    def _check_inputs(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"inputs must have shape (batch, T, {self.input_size}), got {tuple(x.shape)}")

    def _states_time_major(self, x: torch.Tensor, initial_states: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(x)
        if initial_states is not None:
            if self.cell == "rac":
                raise ValueError("a RAC starts from the convention W^H h_0 = 1: it takes no initial states")
            expected = (self.depth, x.shape[0], self.hidden)
            if tuple(initial_states.shape) != expected:
                raise ValueError(f"initial_states must have shape {expected}, got {tuple(initial_states.shape)}")
        h = x.transpose(0, 1)
        with parametrize.cached():  # each orthogonal map evaluated once per forward pass
            for index, layer in enumerate(self.layers):
                h = layer.forward_time_major(h, None if initial_states is None else initial_states[index])
        return h

    def orthogonal_parameters(self) -> list[nn.Parameter]:
        """The parameters behind the orthogonal maps (trained with their own learning rate)."""
        return orthogonal_parameters(self)

    def hidden_matrices(self) -> list[torch.Tensor]:
        """``W^{H,l}`` of every layer (rac, tanh, modrelu), detached."""
        if self.layers is None:
            raise ValueError(f"cell {self.cell!r} has no single hidden-to-hidden matrix per layer")
        return [layer.hidden_matrix().detach() for layer in self.layers]

    def orthogonality_error(self) -> float:
        """``max_l max |W^{H,l} W^{H,l}^T - I|``."""
        return max(orthogonality_error(w) for w in self.hidden_matrices())

    def to_rac_weights(self, output_index: int = 0):
        """Export a RAC network as :class:`tnrnn.rac.circuits.RACWeights` (float64).

        For one-hot inputs, ``tnrnn.rac.circuits.evaluate(weights, tokens)`` equals
        ``model(task.encode(tokens))[:, -1, output_index]`` up to float rounding.

        Raises
        ------
        ValueError
            If the cell is not ``"rac"`` or ``output_index`` is out of range.

        Examples
        --------
        >>> from tnrnn.rac.circuits import evaluate
        >>> net = DeepRNN("rac", input_size=3, output_size=2, hidden=4, depth=2).double()
        >>> tokens = torch.tensor([[0, 2, 1, 1]])
        >>> y = net(torch.nn.functional.one_hot(tokens, 3).double())[:, -1, 1]
        >>> bool(np.allclose(evaluate(net.to_rac_weights(1), tokens.numpy()), y.detach().numpy()))
        True
        """
        if self.cell != "rac":
            raise ValueError(f"only a 'rac' network exports RAC weights, this one is {self.cell!r}")
        if isinstance(output_index, bool) or not isinstance(output_index, int) or not (
                0 <= output_index < self.output_size):
            raise ValueError(f"output_index must be in [0, {self.output_size}), got {output_index!r}")

        def array(t: torch.Tensor) -> np.ndarray:
            return t.detach().to("cpu", torch.float64).numpy()

        spec = RACSpec(templates=self.input_size, hidden=self.hidden, depth=self.depth)
        return RACWeights(spec,
                          tuple(array(layer.input.weight) for layer in self.layers),
                          tuple(array(w) for w in self.hidden_matrices()),
                          array(self.readout.weight[output_index]))


def build_model(config, task) -> DeepRNN:
    """The network of a :class:`~tnrnn.nn.config.TrainConfig` for a task, initialised from ``config.seed``.

    Examples
    --------
    >>> from tnrnn.nn.config import TrainConfig
    >>> config = TrainConfig(task="adding", length=6, cell="gru", depth=2, hidden=3)
    >>> build_model(config, config.make_task())(torch.zeros(1, 6, 2)).shape
    torch.Size([1, 6, 1])
    """
    generator = torch.Generator().manual_seed(config.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = DeepRNN(config.cell, task.input_size, task.output_size, config.hidden, config.depth,
                        config.orthogonal, config.orthogonal_init, generator, init=config.init,
                        recurrent_clip=config.recurrent_clip)
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars stored (an orthogonal R×R matrix counts its R² stored entries).

    Examples
    --------
    >>> count_parameters(DeepRNN("rac", 3, 2, hidden=4, depth=2))
    68
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_free_parameters(model: nn.Module) -> int:
    """Number of free parameters: an orthogonal R×R matrix counts R(R-1)/2 (its manifold's dimension).

    Examples
    --------
    >>> count_free_parameters(DeepRNN("rac", 3, 2, hidden=4, depth=2, orthogonal="scaled_cayley"))
    48
    """
    orthogonal = orthogonal_parameters(model)
    orthogonal_ids = {id(p) for p in orthogonal}
    free = sum(p.numel() for p in model.parameters() if p.requires_grad and id(p) not in orthogonal_ids)
    return free + sum(p.shape[-1] * (p.shape[-1] - 1) // 2 for p in orthogonal)
