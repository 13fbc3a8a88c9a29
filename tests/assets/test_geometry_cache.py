"""Object geometry and its mesh files are cached on disk, per geometry version: a later
process reads the same arrays and file names a fresh build gives; a damaged cache file is
rebuilt, never trusted."""

import numpy as np
import pytest

from vlgsim.assets.objects import CATEGORIES, _geometry_file, object_geometry


def _arrays(parts):
    return [(p.name, p.rgb, [(q.vertices, q.faces, q.face_normals) for q in p.pieces]) for p in parts]


def _same(a, b) -> bool:
    return all(na == nb and ra == rb and all(all(np.array_equal(x, y) for x, y in zip(qa, qb))
                                             for qa, qb in zip(pa, pb))
               for (na, ra, pa), (nb, rb, pb) in zip(_arrays(a), _arrays(b)))


@pytest.mark.parametrize("category", ["mug", "bowl", "hammer"])
def test_disk_cache_gives_the_fresh_geometry_and_survives_damage(tmp_path, monkeypatch, category):
    monkeypatch.setenv("VLGSIM_CACHE", str(tmp_path))
    fresh = CATEGORIES[category].build(0.93, None)
    path = _geometry_file(category, 0.93)
    assert not path.exists()
    built = object_geometry.__wrapped__(category, 0.93)  # no memory cache: what a new process does
    assert path.exists() and _same(built, fresh)
    assert _same(object_geometry.__wrapped__(category, 0.93), fresh)  # read back from disk
    path.write_bytes(b"\x80\x05 damaged")
    assert _same(object_geometry.__wrapped__(category, 0.93), fresh) and path.read_bytes()[:10] != b"\x80\x05 damag"


@pytest.mark.sim
def test_mesh_file_index_names_the_files_a_fresh_export_writes(tmp_path, monkeypatch):
    from vlgsim.sim.maniskill_scene import _mesh_file, _part_files, mesh_cache_dir

    monkeypatch.setenv("VLGSIM_CACHE", str(tmp_path))
    parts = object_geometry("mug", 1.0)
    fresh = tuple((_mesh_file(p.mesh), tuple(_mesh_file(q) for q in p.pieces)) for p in parts)
    first = _part_files.__wrapped__("mug", 1.0)
    assert first == fresh and list(mesh_cache_dir().glob("index-*-mug-1.0.json"))
    assert _part_files.__wrapped__("mug", 1.0) == fresh  # from the index
    (mesh_cache_dir() / fresh[0][1][0].rsplit("/", 1)[1]).unlink()  # a mesh file gone: exported again
    assert _part_files.__wrapped__("mug", 1.0) == fresh and all(
        (mesh_cache_dir() / q.rsplit("/", 1)[1]).exists() for q in fresh[0][1])
