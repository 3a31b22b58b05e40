import pytest

from tnrnn.cli import main
from tnrnn.rac.circuits import RACSpec
from tnrnn.tn.draw import draw_network, network_layout
from tnrnn.tn.network import network_structure


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_draw_cli_writes_png_and_svg(tmp_path, suffix, magic, capsys):
    out = tmp_path / f"net{suffix}"
    assert main(["draw", "-M", "2", "-R", "3", "-L", "2", "-T", "4", "--plot", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(magic) and 5_000 < len(data) < 500_000
    assert "24 tensors" in capsys.readouterr().out


def test_draw_cli_rejects_bad_suffix_and_huge_networks(tmp_path, capsys):
    assert main(["draw", "-M", "2", "-R", "3", "-L", "1", "-T", "4", "--plot", str(tmp_path / "a.pdf")]) == 2
    assert "--plot" in (err := capsys.readouterr().err) and "ending in .png or .svg" in err
    assert main(["draw", "-M", "2", "-R", "3", "-L", "3", "-T", "12", "--plot", str(tmp_path / "a.png")]) == 2
    assert "tensors" in capsys.readouterr().err
    assert not (tmp_path / "a.png").exists()


def test_layout_puts_time_left_to_right_and_layers_on_top():
    spec, length = RACSpec(2, 2, 2), 5
    xy, index_xy = network_layout(spec, length)
    slots = network_structure(spec, length).slots
    assert len(xy) == len(slots)
    for i, slot in enumerate(slots):
        if slot.role != "OUTPUT":
            assert slot.time - 0.8 < xy[i][0] < slot.time + 0.5  # tensors sit at their time step
    top = max(y for i, (_, y) in xy.items() if slots[i].layer == 2)
    assert all(y < top for i, (_, y) in xy.items() if slots[i].layer == 1)
    assert len({round(y) for name, (_, y) in index_xy.items() if not name.startswith("x")}) == 1 + length
    assert len({(round(x, 3), round(y, 3)) for x, y in xy.values()}) == len(xy)  # no overlaps


def test_cut_edges_are_highlighted():
    fig = draw_network(RACSpec(2, 3, 2), 4, "start-end")
    thick = [line for line in fig.axes[0].lines if line.get_linewidth() > 3]
    assert len(thick) >= 3  # R^(T/2+1): three cut bonds, each drawn as one or more segments
    # the cut allows 27, but the matrix is only M^(T/2) = 4 on a side: the title gives the smaller bound
    assert "rank <= 4 (the cut allows 27)" in fig.axes[0].get_title()
    plain = draw_network(RACSpec(2, 3, 2), 4, show_cut=False)
    assert not [line for line in plain.axes[0].lines if line.get_linewidth() > 3]


def test_quimb_draw_accepts_the_positions(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from tnrnn.rac.circuits import RACWeights
    from tnrnn.tn.draw import quimb_positions
    from tnrnn.tn.network import output_inds, tensor_network

    spec, length = RACSpec(2, 2, 2), 4
    tn = tensor_network(RACWeights.gaussian(spec, seed=0), length)
    fix = quimb_positions(spec, length)
    for tensor in tn:  # every tensor is fixed by its own tag tuple
        assert len(tn.select_tensors(next(k for k in fix if isinstance(k, tuple) and set(k) == set(tensor.tags)),
                                     which="all")) == 1
    fig = tn.draw(fix=fix, output_inds=output_inds(length), return_fig=True)
    fig.savefig(tmp_path / "quimb.png")
    assert (tmp_path / "quimb.png").stat().st_size > 5_000
