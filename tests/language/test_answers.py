import numpy as np
import pytest

from vlgsim.language.answers import ParsedAnswer, ParseFailure, format_ok, parse_answer


def ok(text, task):
    r = parse_answer(text, task)
    assert isinstance(r, ParsedAnswer), r
    assert r.ok and r.task == task
    return r


def bad(text, task):
    r = parse_answer(text, task)
    assert isinstance(r, ParseFailure), r
    assert not r.ok and r.task == task and r.reason
    assert len(r.text) <= 200
    return r


# ----------------------------------------------------------------------------- bbox


@pytest.mark.parametrize("text", [
    '{"bbox_2d": [10, 20, 110, 220], "label": "red mug"}',
    '[{"bbox_2d": [10, 20, 110, 220], "label": "red mug"}, {"bbox_2d": [0, 0, 1, 1], "label": "bowl"}]',
    '```json\n[\n  {"bbox_2d": [10, 20, 110, 220], "label": "red mug"}\n]\n```',
    '<think>The mug is on the left.</think>\n<answer>{"bbox_2d": [10,20,110,220], "label": "red mug"}</answer>',
    '<answer>```json\n{"bbox_2d": [10.0, 20.0, 110.0, 220.0], "label": "red mug"}\n```</answer>',
])
def test_bbox_json_forms_with_label(text):
    r = ok(text, "bbox")
    np.testing.assert_array_equal(r.value, [10, 20, 110, 220])
    assert r.value.dtype == np.float64 and r.value.shape == (4,)
    assert r.label == "red mug"


@pytest.mark.parametrize("text, want", [
    ("[10, 20, 110, 220]", [10, 20, 110, 220]),
    ("[10,20,110,220]", [10, 20, 110, 220]),
    ("[ 1.5 , -2.25,3,  4 ]", [1.5, -2.25, 3, 4]),
    ("The box is [10, 20, 110, 220].", [10, 20, 110, 220]),
    ("[-5, -6, -1, -2]", [-5, -6, -1, -2]),
])
def test_bare_bbox_list(text, want):
    r = ok(text, "bbox")
    np.testing.assert_allclose(r.value, want)
    assert r.label == ""


def test_last_answer_tag_wins_and_think_is_ignored():
    text = ("<think>maybe [0, 0, 5, 5]? <answer>[1, 1, 2, 2]</answer> no</think>"
            "<answer>[1, 2, 3, 4]</answer> trailing <answer>[7, 8, 9, 10]</answer>")
    np.testing.assert_array_equal(ok(text, "bbox").value, [7, 8, 9, 10])
    # without answer tags the think block is dropped, not searched
    np.testing.assert_array_equal(ok("<think>[0, 0, 5, 5]</think> [1, 2, 3, 4]", "bbox").value, [1, 2, 3, 4])


def test_fenced_json_wins_over_brackets_in_prose():
    text = "Step [1]: found it.\n```json\n[{\"bbox_2d\": [3, 4, 30, 40], \"label\": \"cup\"}]\n```"
    r = ok(text, "bbox")
    np.testing.assert_array_equal(r.value, [3, 4, 30, 40])
    assert r.label == "cup"


def test_structured_bbox_inputs():
    np.testing.assert_array_equal(ok([1, 2, 3, 4], "bbox").value, [1, 2, 3, 4])
    np.testing.assert_array_equal(ok((1, 2, 3, 4), "bbox").value, [1, 2, 3, 4])
    np.testing.assert_array_equal(ok(np.array([1.0, 2, 3, 4]), "bbox").value, [1, 2, 3, 4])
    r = ok({"bbox_2d": [1, 2, 3, 4], "label": "cup"}, "bbox")
    assert r.label == "cup"


def test_value_is_read_only():
    r = ok("[1, 2, 3, 4]", "bbox")
    with pytest.raises(ValueError):
        r.value[0] = 9


# ----------------------------------------------------------------------------- grasp


@pytest.mark.parametrize("text", [
    "(100, 50, 30, 40)",
    "(100,50,30,40)",
    "[100, 50, 30, 40]",
    '{"grasp": [100, 50, 30, 40]}',
    '<think>grip the handle</think><answer>(100, 50, 30, 40)</answer>',
    '```json\n{"grasp": [100.0, 50.0, 30.0, 40.0]}\n```',
])
def test_grasp_forms(text):
    np.testing.assert_allclose(ok(text, "grasp").value, [100, 50, 30, 40])


def test_grasp_angle_is_folded_and_negative_numbers_parse():
    np.testing.assert_allclose(ok("(100, 50, 120, 40)", "grasp").value, [100, 50, -60, 40])
    np.testing.assert_allclose(ok("(100, 50, -90, 40)", "grasp").value, [100, 50, 90, 40])
    np.testing.assert_allclose(ok("(-3.5, 50, -45.5, 0.5)", "grasp").value, [-3.5, 50, -45.5, 0.5])


@pytest.mark.parametrize("text, words", [
    ("(100, 50, 30, 0)", ["width", "0", "> 0"]),
    ("(100, 50, 30, -4)", ["width", "-4", "> 0"]),
    ("(100, 50, 30, 40, 20)", ["exactly 4", "got 5"]),
    ('{"grasp": [1, 2, 3]}', ["exactly 4", "got 3"]),
    ('{"grip": [1, 2, 3, 4]}', ["grasp"]),
    ('{"grasp": [1, 2, "a", 4]}', ["not a number"]),
])
def test_grasp_failures_name_value_and_rule(text, words):
    r = bad(text, "grasp")
    for w in words:
        assert w in r.reason, r.reason


# ----------------------------------------------------------------------------- contact


@pytest.mark.parametrize("text", [
    "[[10, 20], [50, 60]]",
    "[[10,20],[50,60]]",
    '{"contact_points": [[10, 20], [50, 60]]}',
    "[10, 20, 50, 60]",
    "<think>two sides of the can</think> <answer>[[10, 20], [50, 60]]</answer>",
    "```json\n{\"contact_points\": [[10.0, 20.0], [50.0, 60.0]]}\n```",
])
def test_contact_forms(text):
    np.testing.assert_allclose(ok(text, "contact").value, [10, 20, 50, 60])


def test_contact_structured_and_failures():
    np.testing.assert_allclose(ok(np.array([[1, 2], [3, 4]]), "contact").value, [1, 2, 3, 4])
    assert "2 numbers" in bad("[[1, 2, 3], [4, 5]]", "contact").reason
    assert "got 3 items" in bad("[[1, 2], [3, 4], [5, 6]]", "contact").reason
    assert "not finite" in bad('{"contact_points": [[1, 2], [Infinity, 4]]}', "contact").reason


# ----------------------------------------------------------------------------- garbage


def _deep_list(depth):
    x = [1, 2, 3, 4]
    for _ in range(depth):
        x = [x]
    return x


@pytest.mark.parametrize("text, task, words", [
    (None, "bbox", ["NoneType"]),
    (b"[1, 2, 3, 4]", "bbox", ["bytes"]),
    (12, "grasp", ["int"]),
    (3.5, "grasp", ["float"]),
    ("", "bbox", ["empty"]),
    ("   ", "contact", ["empty"]),
    ("{", "bbox", ["no JSON"]),
    ("I cannot see the object.", "bbox", ["no JSON"]),
    ('{"bbox_2d": [1, 2, 3, 4', "bbox", ["no JSON"]),
    ("[1,2,3]", "bbox", ["exactly 4", "got 3"]),
    ("[1,2,3,4,5]", "bbox", ["exactly 4", "got 5"]),
    ("[nan,1,2,3]", "bbox", ["nan", "finite"]),
    ("[NaN, 1, 2, 3]", "bbox", ["nan", "finite"]),
    ("[1, 2, Infinity, 3]", "bbox", ["inf", "finite"]),
    ("[5,5,1,1]", "bbox", ["[5.0, 5.0, 1.0, 1.0]", "x1 <= x2"]),
    ("[1,5,2,1]", "bbox", ["y1 <= y2"]),
    ('{"bbox_2d": [1, 2, 3, 4e999]}', "bbox", ["finite"]),
    ('{"box": [1, 2, 3, 4]}', "bbox", ["bbox_2d"]),
    ("[true, 1, 2, 3]", "bbox", ["True", "not a number"]),
    ("[[1, 2, 3, 4], [5, 6, 7, 8]]", "bbox", ["exactly 4", "got 2"]),
    ("[[[[[[1, 2, 3, 4]]]]]]", "bbox", ["nested"]),
    ("[" * 5000 + "1, 2, 3, 4" + "]" * 5000, "bbox", ["nested"]),
    ("[" * 500_000 + "]" * 500_000, "bbox", ["longer"]),
    ("x" * 1_000_000, "grasp", ["longer"]),
    ([1, 2, 3], "grasp", ["exactly 4"]),
    ([None, 1, 2, 3], "grasp", ["None", "not a number"]),
    ({"label": "cup"}, "bbox", ["bbox_2d"]),
    ([{}], "contact", ["contact_points"]),
    (_deep_list(10_000), "bbox", ["exactly 4"]),
    (_deep_list(10_000), "contact", ["contact"]),
    (np.array([1.0, np.nan, 2, 3]), "grasp", ["nan"]),
    ({"bbox_2d": object()}, "bbox", ["object"]),
])
def test_garbage_is_a_failure_with_a_reason(text, task, words):
    r = bad(text, task)
    for w in words:
        assert w.lower() in r.reason.lower(), r.reason


def test_failure_keeps_200_chars_of_the_text():
    r = bad("no box here " * 100, "bbox")
    assert r.text == ("no box here " * 100)[:200]
    assert bad(None, "bbox").text == "None"


def test_unknown_task_is_a_failure_naming_allowed_tasks():
    for task in ("mask", None, 3):
        r = parse_answer("[1, 2, 3, 4]", task)
        assert isinstance(r, ParseFailure) and not r.ok
        assert all(t in r.reason for t in ("bbox", "grasp", "contact"))


def test_every_task_survives_every_garbage_input():
    junk = [None, b"\xff\x00", "", "{", "]]]", "[1,2,3]", "<answer>", "</answer><answer>", "((((", 7, -1.0,
            object(), {"a": {"b": {"c": []}}}, [[[]]], [{}], (), np.zeros((3, 3)), np.array([], dtype=object),
            "\x00\ud800", "[1e400, 1, 2, 3]", "{\"bbox_2d\": null}", _deep_list(3000)]
    for task in ("bbox", "grasp", "contact", "nope"):
        for j in junk:
            assert isinstance(parse_answer(j, task), ParseFailure)


# ----------------------------------------------------------------------------- format_ok


@pytest.mark.parametrize("text", [
    "<think>x</think><answer>[1, 2, 3, 4]</answer>",
    "  <think>\nmulti\nline\n</think>\n\n<answer>\n(1, 2, 3, 4)\n</answer>\n",
    "<think></think><answer></answer>",
])
def test_format_ok_accepts_think_then_answer(text):
    assert format_ok(text)


@pytest.mark.parametrize("text", [
    "<answer>[1, 2, 3, 4]</answer>",
    "<think>x</think>",
    "[1, 2, 3, 4]",
    "<answer>[1]</answer><think>x</think>",
    "hello <think>x</think><answer>[1]</answer>",
    "<think>x</think><answer>[1]</answer> bye",
    "<think>x</think> between <answer>[1]</answer>",
    "<think>x</think><answer>[1]</answer><answer>[2]</answer>",
    "<think>x<think>y</think><answer>[1]</answer>",
    "<think>x</think><answer>[1]",
    "",
    None,
    b"<think>x</think><answer>[1]</answer>",
])
def test_format_ok_rejects_everything_else(text):
    assert not format_ok(text)


@pytest.mark.parametrize("text,task,expected", [
    # RealVLG-R1's prompts (examples/format_prompt/*.jinja) and evaluation prompts
    ("<think> thinking process </think>\n<answer>(10,20),(30,40)</answer>", "bbox", [10, 20, 30, 40]),
    ("<think>a</think> <answer>(10.5, 20), (30, 40.25)</answer>", "bbox", [10.5, 20, 30, 40.25]),
    ("<think> thinking process </think>\n<answer>(12,34),(56,78)</answer>", "contact", [12, 34, 56, 78]),
    ("<think>...</think> <answer>(120, 80, -30, 40)</answer>", "grasp", [120, 80, -30, 40]),
    # UniVG-R1's reward format and the grounding formats its MIG-Bench evaluation asks of models
    ("<think>x</think><answer>(1,2),(3,4)</answer>", "bbox", [1, 2, 3, 4]),
    ('<answer>[{"bbox_2d": [1, 2, 3, 4], "label": "cup"}]</answer>', "bbox", [1, 2, 3, 4]),
    ("<|box_start|>(1,2),(3,4)<|box_end|>", "bbox", [1, 2, 3, 4]),
    ("<box>[[1,2,3,4]]</box>", "bbox", [1, 2, 3, 4]),
    ("<box>1 2 3 4</box>", "bbox", [1, 2, 3, 4]),
    ("[[1, 2, 3, 4]]", "bbox", [1, 2, 3, 4]),
    ("The cup is at (1, 2), (3, 4).", "bbox", [1, 2, 3, 4]),
])
def test_every_format_the_realvlg_r1_and_univg_r1_prompts_request(text, task, expected):
    r = parse_answer(text, task)
    assert r.ok, r
    assert r.value.tolist() == expected


@pytest.mark.parametrize("text", ["(1e155, 2, 3, 4)", "[1, 2, 3, -2e6]", "(1, 2, 1e7, 4)"])
def test_absurd_magnitudes_are_a_failure_with_the_rule(text):
    r = parse_answer(text, "grasp")
    assert not r.ok and "out of range" in r.reason and "1e+06" in r.reason
