"""The ``npytrpo`` command, called as ``cli.main([...])`` on tiny budgets."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import subprocess
import sys
import types

import gymnasium as gym
import numpy as np
import pytest

from npytrpo import __version__
from npytrpo.tools import cli
from npytrpo.tools.presets import PRESETS, get_preset, presets_available

# 256 steps with n_envs=2, n_steps=64: two iterations of 128 transitions.
TINY = ["--timesteps", "256", "--set", "n_steps=64", "--no-progress"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny CartPole runs (seeds 0 and 1) and the stdout of the first."""
    root = tmp_path_factory.mktemp("runs")
    stdout = []
    for seed in (0, 1):
        code, text = _run(
            ["train", "CartPole-v1", "--seed", str(seed), "--out", str(root / f"cp-seed{seed}")]
            + TINY
        )
        assert code == 0, text
        stdout.append(text)
    return root, stdout[0]


def _hide_matplotlib(monkeypatch) -> None:
    """Make every matplotlib import fail, as if it were not installed."""
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)


def _one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---------------------------------------------------------------------- train
def test_train_writes_model_log_config_and_curve(runs):
    """train writes model.npz, progress.csv (one row per iteration), config.json, curve.png."""
    root, _ = runs
    run = root / "cp-seed0"
    assert (run / "model.npz").is_file()
    assert (run / "curve.png").read_bytes()[:8] == PNG_MAGIC
    with open(run / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["timesteps"]) for r in rows] == [128, 256]
    config = json.loads((run / "config.json").read_text())
    assert config["env_id"] == "CartPole-v1"
    assert config["seed"] == 0
    assert config["timesteps"] == 256
    assert config["npytrpo_version"] == __version__
    hyper = config["hyperparameters"]
    assert hyper["n_steps"] == 64  # from --set
    assert hyper["damping"] == get_preset("CartPole-v1")["damping"]  # from the preset
    assert hyper["delta"] == 0.01  # a constructor default, recorded too
    assert config["overrides"] == {"n_steps": 64}


def test_train_prints_final_evaluation(runs):
    """train ends with a 10-episode deterministic evaluation, mean ± std."""
    _, stdout = runs
    last = stdout.strip().splitlines()[-1]
    assert "10 episodes, deterministic" in last and "±" in last


def test_train_default_dir_and_preset_budget_override(tmp_path, monkeypatch):
    """Without --out the run goes to runs/<ENV_ID>-seed<S>; --timesteps 0 trains nothing."""
    monkeypatch.chdir(tmp_path)
    code, text = _run(["train", "CartPole-v1", "--seed", "3", "--timesteps", "0"])
    assert code == 0
    run = tmp_path / "runs" / "CartPole-v1-seed3"
    assert (run / "model.npz").is_file() and (run / "config.json").is_file()
    assert not (run / "progress.csv").exists()
    assert "no iteration ran" in text


def test_train_rerun_refuses_then_overwrite_starts_a_fresh_log(tmp_path, capsys):
    """A second train into a run directory exits 2 in one line and changes nothing; with
    --overwrite it replaces the run, leaving only the second run's rows in progress.csv."""
    argv = ["train", "CartPole-v1", "--out", str(tmp_path), "--timesteps", "256"]
    argv += ["--set", "n_steps=64", "--no-progress"]
    assert _run(argv)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    capsys.readouterr()
    assert _run(argv)[0] == 2
    _one_line_error(capsys.readouterr().err, "not empty", "--resume", "--overwrite")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    argv[5] = "128"
    assert _run([*argv, "--overwrite"])[0] == 0
    with open(tmp_path / "progress.csv", newline="") as f:
        assert [r["iteration"] for r in csv.DictReader(f)] == ["1"]
    assert json.loads((tmp_path / "config.json").read_text())["timesteps"] == 128


def test_train_without_matplotlib_prints_a_notice(tmp_path, monkeypatch):
    """Without matplotlib, train still succeeds and says why curve.png is missing."""
    _hide_matplotlib(monkeypatch)
    argv = ["train", "CartPole-v1", "--out", str(tmp_path), "--timesteps", "128"]
    code, text = _run(argv + ["--set", "n_steps=64", "--no-progress"])
    assert code == 0
    assert not (tmp_path / "curve.png").exists()
    assert 'pip install "npytrpo[plot]"' in text


# ---------------------------------------------------------------------- --set
def test_set_values_parse_as_json_else_strings():
    """--set values: JSON numbers, bools, null and lists; Python's True/False; else strings."""
    valid = cli._settable_keys()
    items = [
        "n_steps=64",
        "damping=1e-3",
        "normalize_obs=true",
        "normalize_reward=False",
        "hidden=[32, 32]",
        "kl_direction=new_old",
        "blas_threads=null",
    ]
    assert cli.parse_overrides(items, valid) == {
        "n_steps": 64,
        "damping": 0.001,
        "normalize_obs": True,
        "normalize_reward": False,
        "hidden": [32, 32],
        "kl_direction": "new_old",
        "blas_threads": None,
    }


def test_set_keys_are_the_constructor_hyperparameters():
    """Every preset key but timesteps is settable; env, seed and log_dir are not."""
    valid = cli._settable_keys()
    for preset in PRESETS.values():
        assert set(preset) - {"note", "timesteps"} <= set(valid)
    assert not {"env", "seed", "log_dir", "self"} & set(valid)


def test_set_unknown_key_lists_the_valid_ones(capsys):
    """An unknown --set key exits 2 with one line naming it and the valid keys."""
    code = cli.main(["train", "CartPole-v1", "--set", "n_step=64"])
    assert code == 2
    _one_line_error(capsys.readouterr().err, "'n_step'", "n_steps", "damping")


@pytest.mark.parametrize(
    ("item", "needle"), [("n_steps", "KEY=VALUE"), ("n_steps=0", "n_steps"), ("hidden=3", "")]
)
def test_set_bad_format_or_value_exits_2(capsys, item, needle):
    """A --set without '=' or with a value the agent rejects exits 2 with one line."""
    assert cli.main(["train", "CartPole-v1", "--set", item]) == 2
    _one_line_error(capsys.readouterr().err, "npytrpo train: error:", needle)


# ---------------------------------------------------------------------- input errors
def test_unknown_env_exits_2(capsys):
    """An unregistered env id exits 2 with one line naming it."""
    assert cli.main(["train", "NoSuchEnv-v0"]) == 2
    _one_line_error(capsys.readouterr().err, "unknown environment id 'NoSuchEnv-v0'")


def test_negative_timesteps_exits_2(capsys):
    """--timesteps -5 exits 2 with one line naming the value."""
    assert cli.main(["train", "CartPole-v1", "--timesteps", "-5"]) == 2
    _one_line_error(capsys.readouterr().err, "--timesteps must be >= 0, got -5")


def test_timesteps_accepts_scientific_notation():
    """--timesteps 1e5 and 100_000 mean 100000; 1.5 is refused."""
    assert cli._int_like("1e5") == cli._int_like("100_000") == 100_000
    with pytest.raises(Exception, match="integer"):
        cli._int_like("1.5")


def test_no_command_and_help():
    """No command is a usage error (2); --help succeeds (0)."""
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli.main([]) == 2
    assert _run(["--help"])[0] == 0


# ---------------------------------------------------------------------- evaluate
def test_evaluate_from_dir_and_from_file_agree(runs):
    """evaluate accepts the run directory or model.npz and prints the same result."""
    root, _ = runs
    code_dir, out_dir = _run(["evaluate", str(root / "cp-seed0"), "--episodes", "3"])
    code_file, out_file = _run(
        ["evaluate", str(root / "cp-seed0" / "model.npz"), "--episodes", "3"]
    )
    assert code_dir == code_file == 0
    assert out_dir == out_file
    assert "3 episodes, deterministic" in out_dir and "±" in out_dir


def test_evaluate_stochastic(runs):
    """--stochastic samples actions and says so."""
    root, _ = runs
    code, text = _run(["evaluate", str(root / "cp-seed0"), "--episodes", "2", "--stochastic"])
    assert code == 0 and "stochastic" in text


def test_evaluate_missing_model_exits_2(tmp_path, capsys):
    """A directory without model.npz, or a missing file, exits 2 with one line."""
    assert cli.main(["evaluate", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr().err, "no model file", "model.npz")
    assert cli.main(["evaluate", str(tmp_path / "nope.npz")]) == 2
    _one_line_error(capsys.readouterr().err, "no model file")


def test_evaluate_rejects_a_file_that_is_not_a_model(tmp_path, capsys):
    """A file that is not a checkpoint exits 2 with one line."""
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a zip")
    assert cli.main(["evaluate", str(bad)]) == 2
    _one_line_error(capsys.readouterr().err, "cannot load")


def test_evaluate_gif(runs, tmp_path, capsys):
    """--gif writes the first episode when pygame and Pillow exist, else exits 2 saying how."""
    root, _ = runs
    gif = tmp_path / "ep.gif"
    code = cli.main(["evaluate", str(root / "cp-seed0"), "--episodes", "1", "--gif", str(gif)])
    can_render = all(importlib.util.find_spec(m) for m in ("pygame", "PIL"))
    if can_render:
        assert code == 0
        assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    else:
        assert code == 2 and not gif.exists()
        _one_line_error(capsys.readouterr().err, 'pip install "npytrpo[render]"')


# ---------------------------------------------------------------------- plot, presets
def test_plot_two_runs(runs, tmp_path):
    """plot draws two CSVs (files or run dirs), separately or as one seed band."""
    root, _ = runs
    a, b = root / "cp-seed0" / "progress.csv", root / "cp-seed1"
    out = tmp_path / "sub" / "curves.png"
    code, text = _run(["plot", str(a), str(b), "-o", str(out)])
    assert code == 0 and "2 runs" in text
    assert out.read_bytes()[:8] == PNG_MAGIC
    banded = tmp_path / "band.png"
    assert _run(["plot", str(a), str(b), "-o", str(banded), "--label-by-dir"])[0] == 0
    assert banded.read_bytes()[:8] == PNG_MAGIC


def test_label_by_dir_strips_the_seed():
    """--label-by-dir labels runs/X-seed3/progress.csv as X, and exp/seed3/p.csv as exp."""
    assert cli._dir_label("runs/CartPole-v1-seed3/progress.csv") == "CartPole-v1"
    assert cli._dir_label("runs/CartPole-v1_seed12/progress.csv") == "CartPole-v1"
    assert cli._dir_label("exp/seed3/progress.csv") == "exp"
    assert cli._dir_label("runs/baseline/progress.csv") == "baseline"


def test_plot_errors_exit_2(runs, tmp_path, capsys, monkeypatch):
    """plot: a missing CSV, a missing column, or no matplotlib exits 2 with one line."""
    root, _ = runs
    csv_path = str(root / "cp-seed0" / "progress.csv")
    out = str(tmp_path / "c.png")
    assert cli.main(["plot", str(tmp_path / "none.csv"), "-o", out]) == 2
    _one_line_error(capsys.readouterr().err, "no CSV file")
    assert cli.main(["plot", csv_path, "-o", out, "--y", "no_such_column"]) == 2
    _one_line_error(capsys.readouterr().err, "no_such_column", "ep_return_mean")
    _hide_matplotlib(monkeypatch)
    assert cli.main(["plot", csv_path, "-o", out]) == 2
    _one_line_error(capsys.readouterr().err, 'pip install "npytrpo[plot]"')


def test_presets_lists_every_available_preset_with_its_budget():
    """presets prints one line per available preset with its timesteps."""
    code, text = _run(["presets"])
    assert code == 0
    lines = text.splitlines()
    for env_id in presets_available():
        line = next(ln for ln in lines if ln.startswith(env_id + " "))
        assert str(get_preset(env_id)["timesteps"]) in line
    box2d = importlib.util.find_spec("Box2D") is not None
    assert ("LunarLander-v3" in presets_available()) == box2d


def test_get_preset_returns_a_copy():
    """get_preset returns a fresh copy without the note; unknown ids give {}."""
    p = get_preset("Pendulum-v1")
    p["gamma"] = 0.0
    assert get_preset("Pendulum-v1")["gamma"] == PRESETS["Pendulum-v1"]["gamma"] != 0.0
    assert "note" not in p and PRESETS["Pendulum-v1"]["note"]
    assert get_preset("NoSuchEnv-v0") == {}


# ---------------------------------------------------------------------- oracle
def test_oracle_forwards_the_remaining_argv(monkeypatch):
    """npytrpo oracle ... calls npytrpo.oracle.main with the rest of argv, options included."""
    seen = []
    fake = types.ModuleType("npytrpo.oracle")
    fake.main = lambda argv: seen.append(argv) or 7
    monkeypatch.setitem(sys.modules, "npytrpo.oracle", fake)
    assert cli.main(["oracle", "compare", "--help", "-x"]) == 7
    assert seen == [["compare", "--help", "-x"]]


def test_oracle_help_returns_instead_of_exiting(monkeypatch):
    """A SystemExit raised by the oracle's own argparse becomes main's return value."""

    def fake_main(argv):
        raise SystemExit(0 if argv == ["--help"] else 2)

    fake = types.ModuleType("npytrpo.oracle")
    fake.main = fake_main
    monkeypatch.setitem(sys.modules, "npytrpo.oracle", fake)
    assert cli.main(["oracle", "--help"]) == 0
    assert cli.main(["oracle", "--bogus"]) == 2


def test_oracle_missing_exits_2(monkeypatch, capsys):
    """Without npytrpo.oracle, npytrpo oracle exits 2 with one line."""
    monkeypatch.setitem(sys.modules, "npytrpo.oracle", None)
    assert cli.main(["oracle", "run"]) == 2
    _one_line_error(capsys.readouterr().err, "npytrpo.oracle is not available")


def test_module_runs_as_a_script():
    """python -m npytrpo.tools.cli presets works (the console script calls the same main)."""
    res = subprocess.run(
        [sys.executable, "-m", "npytrpo", "presets"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "CartPole-v1" in res.stdout


# ---------------------------------------------------------------------- GIF pieces, Ctrl-C
class _Counter(gym.Env):
    """Episodes of three steps; each rendered frame is filled with the step count."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, dtype=np.float32), 1.0, self.t == 3, False, {}

    def render(self):
        return np.full((2, 2, 3), self.t, dtype=np.uint8)


def test_gif_recorder_keeps_only_the_first_episode(tmp_path):
    """The GIF recorder keeps reset + every step of episode 1, then nothing; Pillow writes it."""
    env = cli._first_episode_recorder(_Counter())
    for _ in range(2):
        env.reset()
        done = False
        while not done:
            _, _, done, _, _ = env.step(0)
    assert [int(f[0, 0, 0]) for f in env.frames] == [0, 1, 2, 3]
    from PIL import Image  # in the test extra: a missing Pillow must fail, not skip

    path = tmp_path / "ep.gif"
    cli._write_gif(env.frames, str(path), fps=50)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 4


def test_train_interrupted_saves_and_exits_130(tmp_path, monkeypatch):
    """Ctrl-C during learn still saves model.npz and returns 130 without evaluating."""
    from npytrpo.agent import TRPO

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TRPO, "learn", interrupted)
    code, text = _run(["train", "CartPole-v1", "--out", str(tmp_path), "--no-progress"])
    assert code == 130
    assert (tmp_path / "model.npz").is_file()
    assert "interrupted" in text and "evaluation" not in text
