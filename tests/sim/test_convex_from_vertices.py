"""Pool misses cook an object's convex pieces from points parsed in Python instead of SAPIEN's
file loader (assimp): the same cooked hulls, mass, inertia and centre of mass, on real PhysX."""

from pathlib import Path

import numpy as np
import pytest
import sapien

from vlgsim.assets import CATEGORIES, ObjectSpec, build_object
from vlgsim.sim.maniskill_scene import (ObjectPool, _part_files, add_object_shapes, attach_convex_pieces,
                                        obj_corner_vertices)
from vlgsim.sim.sapien_render import make_sapien_scene

pytestmark = pytest.mark.sim

SPECS = [ObjectSpec(c, "red", s) for c in sorted(CATEGORIES) for s in (0.87, 1.04)]


def _body(entity):
    return entity.find_component_by_type(sapien.physx.PhysxRigidDynamicComponent)


def _physics(entity):
    body = _body(entity)
    shapes = [(s.get_vertices(), s.get_triangles(), s.get_density(), tuple(s.get_collision_groups()),
               s.get_physical_material().static_friction) for s in body.get_collision_shapes()]
    cm = body.get_cmass_local_pose()
    return body.get_mass(), np.asarray(body.get_inertia()), np.r_[cm.p, cm.q], shapes


@pytest.fixture(scope="module")
def scene():
    return make_sapien_scene()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.category}-{s.scale}")
def test_pool_build_has_the_physics_of_a_file_build(scene, spec):
    builder = scene.create_actor_builder()
    add_object_shapes(builder, build_object(spec))  # the reference: SAPIEN reads every piece's file
    reference = _physics(builder.build_entity())
    pooled = _physics(ObjectPool().take(scene, spec))
    assert pooled[0] == reference[0]  # mass, to the last bit
    assert np.array_equal(pooled[1], reference[1]) and np.array_equal(pooled[2], reference[2])
    assert len(pooled[3]) == len(reference[3]) > 0
    for a, b in zip(pooled[3], reference[3]):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


def test_parsed_points_are_the_floats_sapiens_loader_reads(scene):
    """SAPIEN's render loader parses the same files with the same assimp: every coordinate we
    parse is one it read (trimesh's fixed 8-decimal numbers round the same in both parsers)."""
    for spec in SPECS[::3]:
        for visual, pieces in _part_files(spec.category, spec.scale):
            for path in (visual, *pieces):
                ours = obj_corner_vertices(path)
                theirs = sapien.render.RenderShapeTriangleMesh(path, np.ones(3, np.float32), None)
                loaded = np.concatenate([p.vertices for p in theirs.parts])
                assert set(ours.reshape(-1).tolist()) == set(loaded.reshape(-1).tolist()), path


def test_a_different_scale_gives_different_points_and_bad_files_are_named(tmp_path):
    a = obj_corner_vertices(_part_files("mug", 0.9)[0][1][0])
    b = obj_corner_vertices(_part_files("mug", 1.1)[0][1][0])
    assert a.shape == b.shape and a.dtype == np.float32 and not np.array_equal(a, b)
    assert np.allclose(a * (1.1 / 0.9), b, atol=2e-7)  # the same piece, 1.1 / 0.9 times larger
    bad = tmp_path / "bad.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nf 1 2\n")
    with pytest.raises(ValueError, match="bad.obj.*rule"):
        obj_corner_vertices(str(bad))


def test_attach_adds_one_shape_per_piece(scene):
    spec = ObjectSpec("bottle", "blue", 0.95)
    asset = build_object(spec)
    builder = scene.create_actor_builder()
    add_object_shapes(builder, asset, collision=False)
    entity = builder.build_entity()
    assert not _body(entity).get_collision_shapes()
    attach_convex_pieces(entity, asset, builder.collision_groups)
    assert len(_body(entity).get_collision_shapes()) == sum(len(p.pieces) for p in asset.parts)


def test_render_meshes_from_saved_arrays_give_the_same_images():
    """Pooled objects' render meshes come from arrays saved beside each OBJ file the first time
    SAPIEN loads it: images with the file loader (a fresh renderer), with the first load (which
    saves the arrays) and with the arrays are the same; a damaged array file is loaded again."""
    from vlgsim.scenes import CameraSpec, sample_tabletop_scene
    from vlgsim.sim.maniskill_scene import _render_arrays_path
    from vlgsim.sim.sapien_render import TabletopRenderer

    cam = CameraSpec.d435(160, 120)
    scenes = [sample_tabletop_scene(s, camera=cam) for s in (31, 32)]
    arrays = {_render_arrays_path(v) for sc in scenes for o in sc.objects
              for v, _ in _part_files(o.spec.category, o.spec.scale)}
    for path in arrays:
        path.unlink(missing_ok=True)
    fresh = [v.rgb for sc in scenes for v in TabletopRenderer(reuse_objects=False).render(sc, [cam])]
    first = [v.rgb for sc in scenes for v in TabletopRenderer().render(sc, [cam])]  # file loads; arrays saved
    assert all(p.exists() for p in arrays)
    next(iter(arrays)).write_bytes(b"not an npz")
    again = [v.rgb for sc in scenes for v in TabletopRenderer().render(sc, [cam])]  # from the arrays (one reloaded)
    for a, b, c in zip(fresh, first, again):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    assert len(np.unique(fresh[0].reshape(-1, 3), axis=0)) > 20  # objects in view: the comparison is not vacuous


def test_convex_points_are_saved_beside_the_file_and_damage_is_reparsed():
    from vlgsim.sim.maniskill_scene import _saved_corner_vertices

    path = _part_files("bowl", 0.91)[0][1][0]
    saved = Path(path).with_suffix(".corners.npy")
    saved.unlink(missing_ok=True)
    first = _saved_corner_vertices(path)
    assert saved.exists() and np.array_equal(np.load(saved), first)
    assert np.array_equal(_saved_corner_vertices(path), obj_corner_vertices(path))
    saved.write_bytes(b"garbage")
    assert np.array_equal(_saved_corner_vertices(path), first)  # parsed again, saved again
    assert np.array_equal(np.load(saved), first)
