"""Registration: sub-pixel shifts, masked NCC, rotation/scale, stack drift and shear."""

import math

import numpy as np
import pytest
import scipy.fft as sfft
from scipy import ndimage as ndi

from ionscale.datasets.synthetic_fibsem import render_fibsem, two_phase_volume
from ionscale.errors import InputError
from ionscale.imaging import (
    Image,
    ImageStack,
    masked_correlation,
    phase_correlation,
    register_rotation_scale,
    register_stack,
)
from ionscale.imaging.pipeline import estimate_shear, preprocess_stack


def _texture(n, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    t = ndi.gaussian_filter(rng.normal(size=(n, n)), scale)
    return ndi.gaussian_filter((t > 0).astype(float) * 0.4, 1.0)


def _fourier_shift(a, d):
    ky = sfft.fftfreq(a.shape[0])[:, None]
    kx = sfft.fftfreq(a.shape[1])[None, :]
    return np.real(sfft.ifft2(sfft.fft2(a) * np.exp(-2j * np.pi * (ky * d[0] + kx * d[1]))))


def test_static_image_subpixel_shifts_within_005_px_rms():
    big = _texture(512)
    rng = np.random.default_rng(1)
    errs = []
    for _ in range(20):
        d = rng.uniform(-6, 6, 2)
        ref = big[128:384, 128:384] + rng.normal(0, 0.02, (256, 256))
        mov = _fourier_shift(big, d)[128:384, 128:384] + rng.normal(0, 0.02, (256, 256))
        s = phase_correlation(Image(ref, 10e-9), Image(mov, 10e-9))
        errs.append(np.asarray(s.shift) + d)   # shift to apply = -displacement
        assert s.trusted and s.shift_m is not None
    rms = float(np.sqrt(np.mean(np.sum(np.square(errs), axis=1))))
    assert rms < 0.05, rms


def test_phase_correlation_bad_input():
    with pytest.raises(InputError, match="shape"):
        phase_correlation(np.zeros((32, 32)), np.zeros((32, 30)))
    with pytest.raises(InputError, match="pixel sizes differ"):
        phase_correlation(Image(np.zeros((32, 32)), 1e-9), Image(np.zeros((32, 32)), 2e-9))


def test_masked_correlation_partial_overlap():
    big = _texture(400, seed=2)
    ref = big[50:250, 40:260]
    mov = big[130:290, 150:330]         # its [0, 0] sits at (80, 110) in ref
    s = masked_correlation(ref, mov)
    assert np.allclose(s.shift, (80, 110), atol=0.1)
    expected = (120 * 110) / (160 * 180)
    assert s.overlap == pytest.approx(expected, rel=0.02)
    assert s.peak > 0.95 and s.quality > 8
    # missing data (NaN) in the reference: still found
    ref2 = ref.copy()
    ref2[100:140, 150:200] = np.nan
    assert np.allclose(masked_correlation(ref2, mov).shift, (80, 110), atol=0.15)


def test_rotation_and_scale():
    big = _texture(512, seed=3, scale=2.0)
    ref = big[128:384, 128:384]
    rot = ndi.rotate(big, 12.0, reshape=False, order=3)
    yy, xx = np.mgrid[0:256, 0:256] - 127.5
    z = ndi.map_coordinates(rot, [yy / 1.1 + 255.5 + 3.0, xx / 1.1 + 255.5 - 2.0], order=3)
    t = register_rotation_scale(ref, z)
    assert abs(abs(t.rotation_deg) - 12.0) < 0.5
    assert t.scale == pytest.approx(1 / 1.1, rel=0.02) or t.scale == pytest.approx(1.1, rel=0.02)


@pytest.fixture(scope="module")
def fib():
    truth = two_phase_volume((60, 96, 128), 0.1, 6.0, seed=1)
    return render_fibsem(truth, noise=0.05, stripes=0.1, drift_sigma=1.5, seed=2)


def test_stack_drift_restored_and_shear_within_1_percent(fib):
    reg = register_stack(fib.stack, region=fib.fiducial_region, reference="first")
    err = reg.drift - fib.drift
    rms = float(np.sqrt(np.mean(np.sum(err ** 2, axis=1))))
    assert rms <= 0.5, rms
    assert np.abs(fib.drift).max() > 5       # the drift was large
    fy1, (y0, _, x0, x1) = fib.fiducial_region[1], fib.face_region
    sh = estimate_shear(fib.stack, reg, edge_region=(fy1 + 2, y0 + 6, x0, x1), angle=54.0)
    assert sh.slope_px / fib.shear - 1 == pytest.approx(0, abs=0.01)
    assert sh["angle"].value == pytest.approx(54.0, abs=0.5)
    assert reg.plot() is not None and sh.plot() is not None


def test_preprocess_puts_the_face_on_the_truth_grid(fib):
    from ionscale.datasets.synthetic_fibsem import truth_on_grid

    pre = preprocess_stack(fib.stack, fiducials=fib.fiducial_region, angle=54.0,
                           roi=fib.face_region)
    g = truth_on_grid(fib, pre.stack)
    assert (g > 0).all()
    d = np.asarray(pre.stack.data)
    # corrected grey levels separate the phases voxel by voxel
    assert d[g == 2].mean() - d[g == 1].mean() > 0.25
    assert pre.stack.voxel_size == pytest.approx((20e-9, 20e-9, 20e-9))
    assert pre.status == "ok"
    pre.plot()


def test_outlier_slice_is_replaced():
    truth = two_phase_volume((20, 48, 96), 0.2, 4.0, seed=3)
    syn = render_fibsem(truth, noise=0.03, stripes=0, drift_sigma=1.0, seed=4)
    data = np.array(syn.stack.data)
    data[10] = np.random.default_rng(0).normal(0.5, 0.3, data[10].shape)   # a charging flash
    st = ImageStack(data, syn.stack.pixel_size, syn.stack.slice_thickness)
    reg = register_stack(st, region=syn.fiducial_region, reference="previous")
    assert 9 in reg.outliers or 10 in reg.outliers
    good = [k for k in range(20) if k != 10]
    err = reg.drift[good] - syn.drift[good]
    assert np.sqrt(np.mean(np.sum(err ** 2, axis=1))) < 1.5
    assert reg.status == "warning"


def test_register_stack_needs_two_slices():
    with pytest.raises(InputError, match="at least 2"):
        register_stack(ImageStack(np.zeros((1, 16, 16)), 1e-9))
    assert math.isfinite(register_stack(
        ImageStack(np.random.default_rng(0).random((3, 32, 32)), 1e-9)).drift.sum())
