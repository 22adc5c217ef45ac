"""Destriping, shading, viewing geometry, alignment and bad input."""

import numpy as np
import pytest

from ionscale.datasets.synthetic_fibsem import render_fibsem, two_phase_volume
from ionscale.errors import InputError
from ionscale.imaging import (
    FibsemGeometry,
    ImageStack,
    align_stack,
    correct_background,
    destripe,
)
from ionscale.imaging.pipeline import preprocess_stack


@pytest.fixture(scope="module")
def face():
    truth = two_phase_volume((4, 128, 160), 0.3, 4.0, seed=1)
    syn = render_fibsem(truth, noise=0, stripes=0.1, shading=0, drift_sigma=0,
                        keep_fields=True, seed=3)
    y0, y1, x0, x1 = syn.face_region
    return (syn.clean[2][y0:y1, x0:x1].astype(np.float64),
            syn.stripes[2][y0:y1, x0:x1].astype(np.float64))


def _band_db(before, after, sigma):
    Fb = np.abs(np.fft.rfft2(before)) ** 2
    Fa = np.abs(np.fft.rfft2(after)) ** 2
    fy = np.abs(np.fft.fftfreq(before.shape[0]) * before.shape[0])[:, None]
    outside = np.broadcast_to(fy > 3 * sigma, Fb.shape)
    return 10 * np.log10(Fa[outside].sum() / Fb[outside].sum())


def test_destripe_removes_stripes_10x_and_keeps_the_rest(face):
    clean, stripes = face
    image = clean + stripes
    out = destripe(image).astype(float)
    # the filter is linear: what is left of the stripes is the filter applied to them
    left = destripe(stripes).astype(float)
    assert np.allclose(out, destripe(clean) + left, atol=1e-4)
    assert np.sqrt(np.mean(stripes ** 2)) / np.sqrt(np.mean(left ** 2)) >= 10
    assert abs(_band_db(clean, destripe(clean).astype(float), 2.0)) < 0.5
    # the wavelet-FFT filter changes the image outside the band even less
    assert abs(_band_db(clean, destripe(clean, method="wavelet-fft").astype(float), 2)) < 0.05
    assert np.sqrt(np.mean(destripe(stripes, method="wavelet-fft") ** 2)) < \
        np.sqrt(np.mean(stripes ** 2))


def test_wavelet_transform_reconstructs_exactly():
    from ionscale.imaging.preprocess import _dwt_axis, _filters, _idwt_axis

    img = np.random.default_rng(0).random((64, 80))
    h, g = _filters("db4")
    lo, hi = _dwt_axis(img, h, g, 1)
    assert np.allclose(_idwt_axis(lo, hi, h, g, 1), img)


def test_background_flattens_shading():
    yy, xx = np.mgrid[0:128, 0:160] / 128.0
    shade = 1 + 0.3 * (yy - 0.5) + 0.2 * (xx - 0.6) ** 2
    rng = np.random.default_rng(0)
    base = 0.5 + 0.1 * (rng.random((128, 160)) > 0.8)
    out = correct_background(base * shade)
    # the block-wise large-scale variation is gone
    def blocks(a):
        return a[:128, :160].reshape(8, 16, 10, 16).mean(axis=(1, 3))
    assert blocks(out).std() < 0.15 * blocks(base * shade).std()
    g = correct_background(base * shade, method="gaussian", sigma=20, mode="subtract")
    assert blocks(g).std() < blocks(base * shade).std()


def test_geometry_convention_and_bad_angles():
    g = FibsemGeometry(54.0, 20e-9)
    assert g.stretch == pytest.approx(1 / np.sin(np.radians(54)))
    assert g.shear_px(20e-9) == pytest.approx(-np.cos(np.radians(54)))
    assert g.shear_m == pytest.approx(-20e-9 / np.tan(np.radians(54)))
    for bad in (0, 90, -5, 120, float("nan"), "x"):
        with pytest.raises(InputError, match=r"\(0, 90\)"):
            FibsemGeometry(bad, 20e-9)
    st = ImageStack(np.zeros((3, 32, 32), np.float32), 10e-9, 20e-9)
    with pytest.raises(InputError, match="angle"):
        align_stack(st, angle=95)
    with pytest.raises(InputError, match="slice thickness"):
        preprocess_stack(ImageStack(np.zeros((3, 32, 32)), 10e-9), angle=54)


def test_isotropic_resampling_of_square_sem_pixels():
    truth = two_phase_volume((12, 40, 48), 0.3, 3.0, seed=5)
    syn = render_fibsem(truth, pixel_size=(20e-9, 20e-9), noise=0, stripes=0, shading=0,
                        drift_sigma=0, seed=1)
    out = align_stack(syn.stack, angle=54.0, pixel_size_y="isotropic", roi=syn.face_region)
    assert out.pixel_size == pytest.approx((20e-9, 20e-9))
    # the face spans the truth's depth: 40 voxels, foreshortened to 40 sin 54° rows
    assert out.shape[1] == pytest.approx(40, abs=2)
    from ionscale.datasets.synthetic_fibsem import truth_on_grid

    g = truth_on_grid(syn, out)
    d = np.asarray(out.data)
    ok = g > 0
    assert np.corrcoef(d[ok], g[ok])[0, 1] > 0.8


def test_common_field_of_view_refuses_huge_drift():
    st = ImageStack(np.zeros((3, 32, 32), np.float32), 10e-9, 20e-9)
    with pytest.raises(InputError, match="common field of view"):
        align_stack(st, np.array([[0, 0], [40, 0], [0, 0]]))
    with pytest.raises(InputError, match="drift"):
        align_stack(st, np.zeros((2, 2)))
