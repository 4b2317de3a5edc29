"""An option the user gave counts as set whatever its value: a flag typed on the command line with its
default value, or a key of the config file, is refused by a run that does not read it (click's
parameter source tells a typed flag from an untouched one)."""
import click
import pytest
from click.testing import CliRunner

from mltc.cli.main import cli
from mltc.cli.train_options import given_on_the_command_line
from mltc.training import FITTERS, TrainConfig, merge_config


def _train(tmp_path, *flags):
    missing = str(tmp_path / "missing.jsonl")  # options are checked before any data is read
    return CliRunner().invoke(cli, ["train", "--train", missing, "--validation", missing,
                                    "--out", str(tmp_path / "run"), *flags])


NEURAL_EPOCHS = str(FITTERS.meta("neural", "defaults")["epochs"])


@pytest.mark.parametrize("flags,fragment", [
    (["--epochs", "5"], "--epochs is not used by the linear fitter"),
    (["--epochs", NEURAL_EPOCHS], "--epochs is not used by the linear fitter"),  # the neural fitter's default
    (["--patience", str(TrainConfig.patience)], "--patience is not used by the linear fitter"),
    (["--keep-checkpoint", "false"], "--keep-checkpoint is not used by the linear fitter"),
    (["--model", "textcnn", "--cv-folds", str(TrainConfig.cv_folds)], "--cv-folds is not used by the neural fitter"),
    (["--model", "textcnn", "--cv-objective", TrainConfig.cv_objective], "--cv-objective is not used by the neural"),
    (["--model", "textcnn", "--svm-c", "1.0"], "--svm-c is not used by the neural fitter"),
    (["--model", "svm", "--schedule", "constant"], "--schedule is not used by the svm fitter"),
])
def test_a_typed_flag_is_refused_even_at_its_default(tmp_path, flags, fragment):
    res = _train(tmp_path, "--model", "tfidf-linear", *flags)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and fragment in res.output, res.output
    assert not (tmp_path / "run").exists()


def test_a_config_file_key_at_its_default_is_refused(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"model: textcnn\ncv_folds: {TrainConfig.cv_folds}\n")
    res = _train(tmp_path, "--config", str(cfg))
    assert res.exit_code == 2 and "--cv-folds is not used by the neural fitter" in res.output, res.output


@pytest.mark.parametrize("flags,fragment", [
    (["--cv-folds", str(TrainConfig.cv_folds)], "--cv-folds is not used by a fine-grained model (cross-validated"),
    (["--svm-c", "1"], "--svm-c is not used by a fine-grained model"),
    (["--loss-preset", TrainConfig.loss_preset], "--loss-preset is not used by a fine-grained model trained with loss ce"),
    (["--loss", "ce", "--loss-preset", "reuters"], "--loss-preset is not used by a fine-grained model trained with loss ce"),
    (["--threshold-grid", "paper"], "--threshold-grid is not used by a fine-grained model (each aspect takes"),
    (["--C", "1"], "--C is not used by a fine-grained model"),
])
def test_fine_grained_refuses_typed_options_its_task_ignores(tmp_path, flags, fragment):
    res = _train(tmp_path, "--fine-grained", "--model", "tfidf-linear", "--optimizer", "adamw", *flags)
    assert res.exit_code == 2 and fragment in res.output, res.output
    assert not (tmp_path / "run").exists()


def test_the_parameter_source_not_the_value_decides():
    @click.command()
    @click.option("--a", type=int, default=1)
    @click.option("--b", type=int, default=None)
    def cmd(a, b):
        click.echo(",".join(sorted(given_on_the_command_line(click.get_current_context(), ["a", "b"]))))

    runner = CliRunner()
    assert runner.invoke(cmd, ["--a", "1"]).output.strip() == "a"  # typed, though equal to its default
    assert runner.invoke(cmd, []).output.strip() == ""
    assert runner.invoke(cmd, ["--b", "2"]).output.strip() == "b"
    assert runner.invoke(cmd, [], default_map={"a": 3}).output.strip() == "a"  # a default_map is a config too
    assert given_on_the_command_line(None, ["a"]) is None


def test_merge_marks_only_the_explicit_flags():
    cfg, given = merge_config({"patience": 5}, {"epochs": 5, "reg_c": 2.0, "lr": None}, explicit=["reg_c"])
    assert cfg.epochs == 5 and cfg.solver_options == {"C": 2.0}
    assert given == {"patience", "solver_options.C"}  # a file key always counts
    assert merge_config({}, {"epochs": 5, "lr": None})[1] == {"epochs"}  # default: the flags that are not None


def test_refuse_set_fields_names_the_first_field_changed_from_its_default():
    from mltc.options import OptionError, field_default, refuse_set_fields, set_fields
    from mltc.training.config import TrainConfig
    cfg = TrainConfig(cv_folds=5, loss_options={"gamma": 1.0})
    assert field_default(cfg, "cv_folds") == TrainConfig().cv_folds
    assert field_default(cfg, "loss_options") == {} and field_default(cfg, "loss_options") is not cfg.loss_options
    assert {"cv_folds", "loss_options"} <= set_fields(cfg) and "seed" not in set_fields(cfg)
    refuse_set_fields(TrainConfig(), {"cv_folds": "why"}, "here")  # defaults pass
    with pytest.raises(OptionError, match=r"left at its default here \(folds do not apply\)") as err:
        refuse_set_fields(cfg, {"seed": "unused", "cv_folds": "folds do not apply", "loss_options": "no"}, "here")
    assert err.value.option == "cv_folds"
