"""Readers of element maps (EDS) and isotope maps (SIMS) into map :class:`Image` objects.

==========================  ============================================  =====================
Layout                      How                                           Pixel size from
==========================  ============================================  =====================
one TIFF per element        ``read_eds_map({"Zr": "zr.tif", ...})``       the TIFF metadata
                                                                          (ImageJ, FEI, Zeiss,
                                                                          ionscale) or
                                                                          ``pixel_size=``
one text matrix per         ``read_eds_map({"Zr": "zr.txt", ...},         ``pixel_size=``
element                     pixel_size="81.4 nm")`` (whitespace, comma,   (required)
                            tab or semicolon; ``#`` comments)
multi-channel TIFF          ``read_eds_map("map.tif", elements=[...])``   metadata or given
                            (``(c, y, x)``; ionscale's own TIFFs carry
                            the channel names)
Oxford AZtec ``.h5oina``    ``read_h5oina("map.h5oina")``: every dataset  ``EDS/Header/X Step``
                            of ``<slice>/EDS/Data/Window Integral`` (or   ``/Y Step`` (µm)
                            ``Peak Area``...), cps × live time = counts
Bruker ``.bcf``             ``read_bcf("map.bcf")`` through RosettaSciIO  the file
                            (optional, GPL: ``pip install rosettasciio``)
SIMS, text or TIFF per      ``read_sims_map({"6Li": ..., "7Li": ...},     ``pixel_size=``
mass                        pixel_size="72 nm")`` (:mod:`ionscale.io.     (required)
                            sims` does the parsing)
==========================  ============================================  =====================

Every reader returns an :class:`~ionscale.imaging.image.Image` made by
:func:`~ionscale.imaging.maps.make_map`: channels named after elements (checked: an unknown
element is an error), the pixel size and origin (corner of pixel [0, 0]) in metres,
``metadata["kind"]`` and ``["angles"]`` (degrees). A missing pixel size, channels of different
shapes or negative counts raise :class:`~ionscale.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .image import Image
from .maps import element_of, make_map

__all__ = ["read_bcf", "read_eds_map", "read_h5oina", "read_sims_map"]

_TIFF = {".tif", ".tiff"}


def _read_text_matrix(path: str) -> np.ndarray:
    from ..io.text import read_lines, sniff_delimiter, uses_decimal_comma

    lines = [ln for ln in read_lines(path) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError("no numbers in the file", file=path, field="data",
                         expected="a matrix of counts, one row per line")
    delim = sniff_delimiter(lines[:20])
    comma = uses_decimal_comma(lines[:20], delim) if delim != "," else False
    rows = []
    for k, ln in enumerate(lines):
        text = ln.replace(",", ".") if comma else ln
        parts = text.split(delim) if delim not in (None, " ", "whitespace") else text.split()
        try:
            rows.append([float(p) for p in parts if p.strip() != ""])
        except ValueError:
            raise InputError(f"non-numeric entry in row {k + 1}", file=path, field="data",
                             expected="numbers only (comments start with #)") from None
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise InputError(f"rows of different lengths {sorted(widths)}", file=path,
                         field="data", expected="a rectangular matrix")
    return np.asarray(rows, dtype=np.float64)


def _read_tiff(path: str, pixel_size) -> tuple[np.ndarray, tuple | None, tuple, dict]:
    """``(data (c, y, x) or (y, x), pixel size or None, channel names, metadata)``: the pixel
    size by the rules of :mod:`~ionscale.imaging.readers`, channel names and origin from
    ionscale's own description."""
    import tifffile

    from .readers import _ionscale_info, _metadata_sizes

    try:
        with tifffile.TiffFile(path) as tif:
            data = np.asarray(tif.series[0].asarray())
            found = _metadata_sizes(tif, tif.pages[0])
            info = _ionscale_info(tif) if tif.is_imagej else {}
    except (OSError, ValueError, tifffile.TiffFileError) as exc:
        raise InputError(f"cannot read the TIFF ({type(exc).__name__})", file=path,
                         field="path", expected="a readable TIFF map") from None
    data = np.squeeze(data)
    if data.ndim == 3 and data.shape[-1] <= 8 < min(data.shape[:2]):
        data = np.moveaxis(data, -1, 0)            # (y, x, c) -> (c, y, x)
    if data.ndim not in (2, 3):
        raise InputError(f"image of shape {data.shape}", file=path, field="data",
                         expected="a 2D map or (channel, y, x)")
    names = tuple(str(c) for c in info.get("channels", ()) or ())
    n = 1 if data.ndim == 2 else data.shape[0]
    if len(names) != n or all(c == "intensity" or (c[:1] == "c" and c[1:].isdigit())
                              for c in names):
        names = ()
    origin = info.get("origin_m")
    origin = tuple(float(v) for v in origin[-2:]) if origin else None
    px = None if pixel_size is not None else found.get("pixel_size")
    return data, px, names, {"origin": origin}


def read_eds_map(paths, *, elements: Sequence[str] | None = None, pixel_size=None,
                 origin=None, index: int | None = None,
                 angles: Mapping[str, float] | None = None, unit: str = "counts") -> Image:
    """Read EDS element maps of one slice into one multi-channel map.

    Parameters
    ----------
    paths : path, sequence of paths or dict of element to path
        One file per element (TIFF or text matrix), or one multi-channel TIFF (channels named
        in the file, or by ``elements``), or an ``.h5oina`` file (see :func:`read_h5oina`).
    elements : sequence of str, optional
        Channel names in file/channel order (``"Zr"``, ``"Co La1"``); each must name an
        element.
    pixel_size : float, str or (dy, dx), optional
        Wins over the file's; required for text matrices.
    origin : (y0, x0), optional
        Corner of pixel [0, 0] in the stage frame, m (default: the file's, else 0).
    index : int, optional
        Slice index.
    angles : dict, optional
        Instrument angles in degrees (e.g. ``{"stage_tilt": 54}``).
    unit : str
        ``"counts"`` or ``"counts/s"``.

    Returns
    -------
    Image
        ``metadata["kind"] = "EDS"``, ``metadata["files"]``.

    Raises
    ------
    InputError
        No pixel size, channels of different shapes, an unknown element, unreadable files.
    """
    if isinstance(paths, (str, os.PathLike)) and Path(paths).suffix.lower() == ".h5oina":
        return read_h5oina(paths, index=index, angles=angles, origin=origin,
                           pixel_size=pixel_size)
    if isinstance(paths, Mapping):
        items = [(str(k), os.fspath(v)) for k, v in paths.items()]
        if elements is not None:
            raise InputError("elements given twice (dict keys and elements=)",
                             field="elements", expected="either a dict or elements=")
    elif isinstance(paths, (str, os.PathLike)):
        items = [(None, os.fspath(paths))]
    else:
        files = [os.fspath(p) for p in paths]
        if elements is not None and len(elements) != len(files):
            raise InputError(f"{len(elements)} elements for {len(files)} files",
                             field="elements", expected="one element per file")
        items = [(None if elements is None else elements[k], f) for k, f in enumerate(files)]
    channels: dict[str, np.ndarray] = {}
    file_px = None
    file_origin = None
    sources: dict[str, str] = {}
    for name, path in items:
        if not os.path.isfile(path):
            raise InputError("no such file", file=path, field="paths",
                             expected="an existing EDS map file")
        if Path(path).suffix.lower() in _TIFF:
            data, px, named, extra = _read_tiff(path, pixel_size)
            file_px = file_px or px
            file_origin = file_origin or extra["origin"]
        else:
            data, named = _read_text_matrix(path), ()
        if data.ndim == 3:
            names = list(named) if named and name is None and elements is None else (
                list(elements) if elements is not None and len(items) == 1 else None)
            if names is None or len(names) != data.shape[0]:
                raise InputError(f"a map of {data.shape[0]} channels", file=path,
                                 field="elements", expected=f"{data.shape[0]} element names "
                                 "in channel order (elements=[...])")
            for n, a in zip(names, data, strict=True):
                channels[str(n)] = a
                sources[str(n)] = path
        else:
            if name is None:
                name = (elements[0] if elements is not None and len(items) == 1 else
                        _name_from_file(path))
            channels[str(name)] = data
            sources[str(name)] = path
    px = pixel_size if pixel_size is not None else file_px
    if px is None:
        raise InputError("the map has no pixel size", file=items[0][1], field="pixel_size",
                         expected="pixel_size= (e.g. '81.4 nm'): the file does not state it")
    if origin is None:
        origin = file_origin or (0.0, 0.0)
    return make_map(channels, px, origin, kind="EDS", index=index, angles=angles, unit=unit,
                    source=items[0][1], metadata={"files": sources})


def _name_from_file(path: str) -> str:
    """The element a file name states (``map_Zr.tif``, ``Co La1.txt``)."""
    stem = Path(path).stem
    for token in reversed(stem.replace("-", "_").replace(" ", "_").split("_")):
        try:
            return element_of(token)
        except InputError:
            continue
    raise InputError("the file name names no element", file=path, field="elements",
                     expected="elements=[...] or a dict {element: path}")


def _scalar(group, key, default=None):
    if key not in group:
        return default
    v = np.asarray(group[key][()]).ravel()
    if v.size == 0:
        return default
    x = v[0]
    return x.decode() if isinstance(x, bytes) else x


def read_h5oina(path, *, slice_name: str | None = None, quantity: str = "Window Integral",
                counts: bool = True, pixel_size=None, origin=None, index: int | None = None,
                angles: Mapping[str, float] | None = None) -> Image:
    """Read the EDS maps of an Oxford Instruments AZtec ``.h5oina`` file.

    Layout (the published H5OINA specification): ``/<slice>/EDS/Header/X Cells``, ``Y Cells``
    (pixels), ``X Step``, ``Y Step`` (µm), ``Tilt Angle`` (rad) and ``/<slice>/EDS/Data/
    <quantity>/<element line>`` datasets of ``X Cells × Y Cells`` values (row-major, x
    fastest), NaN outside the acquired area; ``Window Integral`` and ``Peak Area`` are count
    rates (counts/s), multiplied by ``Data/Live Time`` when ``counts`` is true.

    Parameters
    ----------
    slice_name : str, optional
        Slice group (default: the first of the root ``Index``, else ``"1"``).
    quantity : str
        ``"Window Integral"``, ``"Peak Area"``, ``"Composition"``...

    Returns
    -------
    Image
        Channels named ``"Zr La1"``... (element checked), pixel size from the header.
    """
    import h5py

    p = os.fspath(path)
    try:
        fh = h5py.File(p, "r")
    except OSError:
        raise InputError("cannot open as HDF5", file=p, field="path",
                         expected="an AZtec .h5oina file") from None
    with fh:
        if slice_name is None:
            slice_name = "1"
            if "Index" in fh:
                idx = np.asarray(fh["Index"][()]).ravel()
                if idx.size:
                    slice_name = idx[0].decode() if isinstance(idx[0], bytes) else str(idx[0])
        eds = next((f"{slice_name}/{g}" for g in ("EDS", "EDS1")
                    if f"{slice_name}/{g}" in fh), None)
        if eds is None:
            raise InputError(f"no EDS group in slice {slice_name!r}", file=p,
                             field=f"{slice_name}/EDS", expected="an .h5oina file with EDS "
                             "maps")
        header, data = fh[f"{eds}/Header"], fh[f"{eds}/Data"]
        nx, ny = _scalar(header, "X Cells"), _scalar(header, "Y Cells")
        if nx is None or ny is None:
            raise InputError("no X Cells / Y Cells", file=p, field=f"{eds}/Header",
                             expected="the map size in the header")
        nx, ny = int(nx), int(ny)
        sx, sy = _scalar(header, "X Step"), _scalar(header, "Y Step")
        if pixel_size is None:
            if sx is None or sy is None or not (float(sx) > 0 and float(sy) > 0):
                raise InputError("the map has no pixel size (X Step / Y Step)", file=p,
                                 field=f"{eds}/Header/X Step",
                                 expected="the step in µm, or pixel_size=")
            pixel_size = (float(sy) * 1e-6, float(sx) * 1e-6)
        if quantity not in data:
            raise InputError(f"no {quantity!r} data", file=p, field=f"{eds}/Data",
                             expected=f"one of {sorted(k for k in data)}")
        live = None
        if counts and quantity in ("Window Integral", "Peak Area") and "Live Time" in data:
            live = np.asarray(data["Live Time"][()], np.float64).ravel()
        channels = {}
        for name in data[quantity]:
            arr = np.asarray(data[quantity][name][()], np.float64).ravel()
            if arr.size != nx * ny:
                raise InputError(f"{arr.size} values for a {ny}×{nx} map", file=p,
                                 field=f"{eds}/Data/{quantity}/{name}",
                                 expected="X Cells × Y Cells values")
            if live is not None and live.size in (1, arr.size):
                arr = arr * live
            channels[str(name)] = arr.reshape(ny, nx)
        if not channels:
            raise InputError(f"no datasets in {quantity!r}", file=p,
                             field=f"{eds}/Data/{quantity}", expected="element maps")
        meta: dict[str, Any] = {"quantity": quantity, "slice": slice_name}
        tilt = _scalar(header, "Tilt Angle")
        ang = dict(angles or {})
        if tilt is not None and "stage_tilt" not in ang:
            ang["stage_tilt"] = float(np.degrees(float(tilt)))
        for key in ("Beam Voltage", "Working Distance", "Magnification"):
            v = _scalar(header, key)
            if v is not None:
                meta[key] = float(v)
    unit = "counts" if live is not None else ("counts/s" if quantity in (
        "Window Integral", "Peak Area") else quantity)
    return make_map(channels, pixel_size, origin or (0.0, 0.0), kind="EDS", index=index,
                    angles=ang, unit=unit, source=p, metadata=meta)


def read_bcf(path, *, index: int | None = None, origin=None,
             angles: Mapping[str, float] | None = None) -> Image:
    """Read the element maps of a Bruker ``.bcf`` through RosettaSciIO (an optional extra,
    GPL-licensed, not installed with ionscale)."""
    try:
        from rsciio.bruker import file_reader
    except ImportError:
        raise InputError("reading Bruker .bcf needs RosettaSciIO, which is not installed",
                         file=os.fspath(path), field="path",
                         expected="pip install rosettasciio (GPL-3.0, optional), or export "
                         "the element maps from Esprit as TIFF or text") from None
    signals = file_reader(os.fspath(path))
    channels = {}
    px = None
    for s in signals:
        data = np.asarray(s["data"])
        title = str(s.get("metadata", {}).get("General", {}).get("title", ""))
        if data.ndim == 2 and title:
            try:
                element_of(title)
            except InputError:
                continue
            channels[title] = data
            axes = s.get("axes", [])
            if px is None and len(axes) >= 2:
                scale = [float(a.get("scale", 0)) for a in axes[:2]]
                unit = str(axes[0].get("units", "µm"))
                f = {"nm": 1e-9, "µm": 1e-6, "um": 1e-6, "mm": 1e-3}.get(unit, 1e-6)
                px = (scale[0] * f, scale[1] * f)
    if not channels:
        raise InputError("no element maps in the file", file=os.fspath(path), field="path",
                         expected="a .bcf with element maps (or export them as TIFF)")
    return make_map(channels, px, origin or (0.0, 0.0), kind="EDS", index=index,
                    angles=angles, source=os.fspath(path))


def read_sims_map(paths, *, isotopes: Sequence[str] | None = None, pixel_size=None,
                  origin=(0.0, 0.0), index: int | None = None,
                  angles: Mapping[str, float] | None = None) -> Image:
    """Read SIMS count maps (one text matrix or TIFF per mass, or one multi-channel TIFF)
    through :func:`ionscale.io.sims.read_map`.

    Parameters
    ----------
    paths : path, sequence or dict of isotope to path
        As :func:`ionscale.io.sims.read_map`.
    pixel_size : float, str or (dy, dx)
        Required (``"72 nm"``).
    origin : (y0, x0)
        Corner of pixel [0, 0] in the stage frame, m (``io.sims`` uses pixel centres; the
        conversion is made here).

    Returns
    -------
    Image
        ``metadata["kind"] = "SIMS"``; channels named by isotope (``"6Li"``).
    """
    from ..io.sims import read_map

    if pixel_size is None:
        first = paths if isinstance(paths, (str, os.PathLike)) else (
            next(iter(paths.values())) if isinstance(paths, Mapping) else list(paths)[0])
        raise InputError("the map has no pixel size", file=os.fspath(first),
                         field="pixel_size", expected="pixel_size= (e.g. '72 nm')")
    cmap = read_map(paths, isotopes=isotopes, pixel_size=pixel_size)
    from ..units import parse_quantity

    o = tuple(parse_quantity(v, "m", field="origin") if isinstance(v, str) else float(v)
              for v in origin)
    return make_map(dict(cmap.counts), cmap.pixel_size, o, kind="SIMS", index=index,
                    angles=angles, source=cmap.sources[0] if cmap.sources else None,
                    metadata={"files": dict(cmap.metadata.get("files", {}))})
