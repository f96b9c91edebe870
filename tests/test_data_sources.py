"""The three input layouts become one MattingSource; user mistakes are one-line errors naming a file."""

from __future__ import annotations

import numpy as np
import pytest

from matting_cli.data.adobe_layout import adobe_source
from matting_cli.data.foreground_store import ForegroundStore
from matting_cli.data.sources import check_foreground_sizes, combine_sources, fg_alpha_source, image_alpha_source, list_backgrounds
from matting_cli.errors import ImageReadError, InputMismatchError, PpidError
from tests.test_data_synthetic import make_adobe_tree, make_backgrounds, make_fg_alpha, make_image_alpha, save, to_u8


def test_fg_alpha_pairs_by_stem_and_backgrounds_are_recursive(tmp_path):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path)
    (alpha_dir / "orphan.png").write_bytes((alpha_dir / "cat.png").read_bytes())  # extra alpha: ignored
    source = fg_alpha_source(fg_dir, alpha_dir, make_backgrounds(tmp_path / "bg"))
    assert [s.name for s in source.foregrounds] == ["bear", "cat"]
    assert all(s.alpha.stem == s.name and not s.needs_estimation for s in source.foregrounds)
    assert len(source.backgrounds) == 4 and any(p.parent.name == "extra" for p in source.backgrounds)
    assert source.background_lists is None


def test_photo_alpha_folders_estimate_foregrounds_and_combine_with_another_layout(tmp_path):
    # Pseudo-labelled sets ship a folder of photos beside a folder of mattes: the photos are not
    # foregrounds, so their colours must be estimated like the image+alpha layout's.
    photos, alphas = make_fg_alpha(tmp_path / "pseudo", names=("dog", "fox"), size=(36, 44))
    backgrounds = make_backgrounds(tmp_path / "bg")
    pseudo = fg_alpha_source(photos, alphas, backgrounds, photos=True)
    assert pseudo.layout == "photo-alpha" and [s.name for s in pseudo.foregrounds] == ["dog", "fox"]
    assert all(s.needs_estimation and s.image.parent == photos and s.fg is None for s in pseudo.foregrounds)
    assert ForegroundStore(pseudo.foregrounds).load(1).estimated

    real = image_alpha_source(make_image_alpha(tmp_path / "am"), backgrounds)
    both = combine_sources([real, pseudo])
    assert [s.name for s in both.foregrounds] == ["GT01", "GT02", "dog", "fox"]
    assert both.layout == "image-alpha+photo-alpha" and both.backgrounds == real.backgrounds
    assert combine_sources([real]) is real


def test_combined_sources_refuse_a_repeated_name_and_the_adobe_lists(tmp_path):
    backgrounds = make_backgrounds(tmp_path / "bg")
    first = fg_alpha_source(*make_fg_alpha(tmp_path / "a"), backgrounds)
    second = fg_alpha_source(*make_fg_alpha(tmp_path / "b", names=("cat",)), backgrounds, photos=True)
    with pytest.raises(InputMismatchError, match=r"b/fg/cat\.png: same name as .*a/fg/cat\.png"):
        combine_sources([first, second])
    adobe = adobe_source(make_adobe_tree(tmp_path / "adobe", tmp_path / "coco"), "train", tmp_path / "coco")
    assert adobe.background_lists is not None  # each foreground has its own listed backgrounds
    with pytest.raises(PpidError, match="Adobe"):
        combine_sources([adobe, first])


def test_background_order_is_by_relative_path(tmp_path):
    root = make_backgrounds(tmp_path / "bg")
    names = [p.relative_to(root).as_posix() for p in list_backgrounds(root)]
    assert names == sorted(names)


def test_image_alpha_layout_estimates_foregrounds(tmp_path):
    source = image_alpha_source(make_image_alpha(tmp_path / "am"), make_backgrounds(tmp_path / "bg"))
    assert [s.name for s in source.foregrounds] == ["GT01", "GT02"]
    assert all(s.needs_estimation and s.image.name == "image.png" for s in source.foregrounds)
    loaded = ForegroundStore(source.foregrounds).load(0)
    assert loaded.estimated and loaded.fg.shape == (36, 44, 3) and loaded.alpha.shape == (36, 44)


def test_estimated_foregrounds_are_cached_on_disk_and_reused(tmp_path):
    source = image_alpha_source(make_image_alpha(tmp_path / "am"), make_backgrounds(tmp_path / "bg"))
    cache = tmp_path / "cache"
    first = ForegroundStore(source.foregrounds, cache_dir=cache).load(1)
    files = sorted(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("GT02-")
    again = ForegroundStore(source.foregrounds, cache_dir=cache).load(1)
    assert np.array_equal(first.fg, again.fg)
    # a changed alpha must not reuse the stale estimate
    save(source.foregrounds[1].alpha, np.full((36, 44), 255, np.uint8))
    ForegroundStore(source.foregrounds, cache_dir=cache).load(1)
    assert len(list(cache.iterdir())) == 2


def test_adobe_train_follows_name_lists_in_order(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "coco")
    for root in (dataset, dataset.parent):  # Combined_Dataset or its parent
        source = adobe_source(root, "train", tmp_path / "coco")
        assert source.layout == "adobe-train"
        assert [s.name for s in source.foregrounds] == ["hair_a", "glass_b", "plant_c"]
        assert source.foregrounds[2].fg.parent.parent.name == "Other"
        assert source.foregrounds[1].alpha.name == "glass_b.jpg"  # alpha shares the fg's file name
        lists = [[p.name for p in bgs] for bgs in source.background_lists]
        assert lists == [[f"COCO_train2014_{i:012d}.jpg" for i in range(3 * k, 3 * k + 3)] for k in range(3)]
        assert all(s.trimap is None for s in source.foregrounds)


def test_adobe_test_split_uses_shipped_trimaps(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "voc")
    source = adobe_source(dataset, "test", tmp_path / "voc")
    assert [s.name for s in source.foregrounds] == ["lace_d", "net_e"]
    assert all(s.trimap is not None and s.trimap.parent.name == "trimaps" for s in source.foregrounds)
    assert [len(b) for b in source.background_lists] == [2, 2]


def test_adobe_errors_name_the_list_line_or_file(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "bg")
    names = dataset / "Training_set" / "training_bg_names.txt"
    names.write_text(names.read_text().replace("COCO_train2014_000000000004.jpg", "COCO_missing.jpg"))
    with pytest.raises(InputMismatchError, match=r"training_bg_names.txt:5: background 'COCO_missing.jpg'"):
        adobe_source(dataset, "train", tmp_path / "bg")
    fg_names = dataset / "Test_set" / "test_fg_names.txt"
    fg_names.write_text("lace_d.png\nghost.png\n")
    with pytest.raises(InputMismatchError, match=r"test_fg_names.txt:2: 'ghost.png' not found"):
        adobe_source(dataset, "test", tmp_path / "bg")
    (dataset / "Training_set" / "training_fg_names.txt").unlink()
    with pytest.raises(PpidError, match="training_fg_names.txt: name list not found"):
        adobe_source(dataset, "train", tmp_path / "bg")
    with pytest.raises(PpidError, match="Test_set.*not found"):
        adobe_source(tmp_path / "bg", "test", tmp_path / "bg")


def test_adobe_background_count_must_divide_evenly(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "bg")
    names = dataset / "Training_set" / "training_bg_names.txt"
    names.write_text("\n".join(names.read_text().split()[:8]))
    with pytest.raises(InputMismatchError, match="8 backgrounds is not a whole number per foreground"):
        adobe_source(dataset, "train", tmp_path / "bg")


def test_fg_without_alpha_and_empty_folders(tmp_path):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path)
    (alpha_dir / "cat.png").unlink()
    bg = make_backgrounds(tmp_path / "bg")
    with pytest.raises(InputMismatchError, match=r"fg/cat.png: no alpha matte named 'cat\.\*'"):
        fg_alpha_source(fg_dir, alpha_dir, bg)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PpidError, match="empty: foreground folder has no images"):
        fg_alpha_source(empty, alpha_dir, bg)
    (alpha_dir / "bear.png").rename(alpha_dir / "cat.png")
    (fg_dir / "bear.png").unlink()
    with pytest.raises(PpidError, match="empty: background folder has no images"):
        fg_alpha_source(fg_dir, alpha_dir, empty)
    with pytest.raises(PpidError, match="nowhere: image\\+alpha folder does not exist"):
        image_alpha_source(tmp_path / "nowhere", bg)


def test_size_mismatch_and_unreadable_headers_are_found_before_compositing(tmp_path):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path)
    bg = make_backgrounds(tmp_path / "bg")
    save(alpha_dir / "cat.png", to_u8(np.zeros((10, 10))))
    source = fg_alpha_source(fg_dir, alpha_dir, bg)
    with pytest.raises(InputMismatchError, match=r"alpha/cat.png: size 10x10 does not match .*fg/cat.png \(52x40\)"):
        check_foreground_sizes(source)
    (fg_dir / "cat.png").write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match=r"fg/cat.png: not an image"):
        check_foreground_sizes(source)


def test_training_datasets_keep_estimated_foregrounds_in_the_cache_dir(tmp_path, monkeypatch):
    """A resumed run must not spend minutes estimating the same foregrounds again: the second dataset
    reads them from $PPID_CACHE_DIR/foregrounds and gives the same samples."""
    from matting_cli.data import foreground_estimation
    from matting_cli.train.run_config import MattingRunConfig, build_dataset

    monkeypatch.setenv("PPID_CACHE_DIR", str(tmp_path / "cache"))
    config = MattingRunConfig(model="indexnet", image_alpha_dir=str(make_image_alpha(tmp_path / "am")),
                              bg_dir=str(make_backgrounds(tmp_path / "bg")), crop=32)
    first = build_dataset(config)
    first.prepare()
    assert len(list((tmp_path / "cache" / "foregrounds").glob("*.png"))) == 2

    def no_estimation(*args, **kwargs):
        raise AssertionError("estimated again despite the cache")

    monkeypatch.setattr(foreground_estimation, "estimate_foreground_u8", no_estimation)
    again = build_dataset(config)
    again.prepare()
    for key, value in first.sample_arrays(1).items():
        assert np.array_equal(value, again.sample_arrays(1)[key]), key


def test_an_unwritable_foreground_cache_still_gives_the_foreground(tmp_path, monkeypatch):
    import matting_cli.data.foreground_store as foreground_store

    def refuse(*args, **kwargs):
        raise PermissionError("read-only cache")

    monkeypatch.setattr(foreground_store, "write_image", refuse)
    source = image_alpha_source(make_image_alpha(tmp_path / "am"), make_backgrounds(tmp_path / "bg"))
    loaded = ForegroundStore(source.foregrounds, cache_dir=tmp_path / "cache").load(0)
    assert loaded.estimated and loaded.fg.shape == (36, 44, 3)


def test_a_damaged_cached_foreground_is_estimated_again(tmp_path):
    source = image_alpha_source(make_image_alpha(tmp_path / "am"), make_backgrounds(tmp_path / "bg"))
    cache = tmp_path / "cache"
    first = ForegroundStore(source.foregrounds, cache_dir=cache).load(0)
    (cached,) = cache.iterdir()
    cached.write_bytes(b"not a png")
    again = ForegroundStore(source.foregrounds, cache_dir=cache).load(0)
    assert np.array_equal(first.fg, again.fg)
    assert np.array_equal(ForegroundStore(source.foregrounds, cache_dir=cache).load(0).fg, first.fg)  # rewritten
