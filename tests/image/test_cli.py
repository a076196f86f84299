"""`shfn image build` without building: what --dry-run shows, a missing buildah, and
deploy/Dockerfile agreeing with the libraries the binary links. No container tools needed."""
import os
import re
import shutil

from conftest import ROOT, run, shfn_bin

REVERSE = os.path.join(ROOT, "examples", "reverse", "reverse.yaml")


def dry_run(*args):
    return run([shfn_bin(), "image", "build", "--dry-run", *args]).stdout.decode()


def planned_packages(text):
    line = next(l for l in text.splitlines() if "; packages: " in l)
    return set(line.split("; packages: ", 1)[1].split())


def test_dry_run_shows_the_spec_directory_the_packages_and_the_entrypoint():
    out = dry_run(REVERSE, "-t", "shfn-test/reverse:ci")
    assert out.startswith("image shfn-test/reverse:ci\n"), out
    assert "  spec reverse.yaml (functions: reverse, reverse-arg)\n" in out
    for line in ("    reverse.yaml (", "    reverse.sh* (", "    reverse-arg.sh* ("):
        assert line in out, out
    packages = planned_packages(out)
    # tini and certificates always; the libraries of the binary come from dpkg, e.g. protobuf's.
    assert {"tini", "ca-certificates", "libc6", "libstdc++6"} <= packages, packages
    assert any(p.startswith("libprotobuf") for p in packages), packages
    assert ('ENTRYPOINT ["/usr/bin/tini","--","/usr/local/bin/shfn","run","/app/reverse.yaml"]'
            in out), out
    assert 'CMD ["--admin","0.0.0.0:8081"]' in out
    assert "USER 10001:10001" in out


def test_the_default_name_is_the_one_shfn_k8s_render_assumes():
    assert dry_run(REVERSE).startswith("image shfn/reverse:latest\n")


def test_deploy_packages_and_shfnignore_shape_the_image(tmp_path):
    (tmp_path / "fn.sh").write_text("#!/bin/sh\njq .\n")
    (tmp_path / "fn.sh").chmod(0o755)
    (tmp_path / "notes.txt").write_text("left out\n")
    (tmp_path / ".shfnignore").write_text("*.txt\n")
    (tmp_path / "shfn-data").mkdir()
    (tmp_path / "shfn-data" / "LOCK").write_text("")
    (tmp_path / "fn.yaml").write_text(
        "kind: Function\nmetadata:\n  name: fn\nspec:\n  script: fn.sh\n  inputs: [in]\n"
        "  deploy:\n    packages: [jq]\n")
    out = dry_run(str(tmp_path / "fn.yaml"))
    assert "jq" in planned_packages(out)
    assert "    fn.sh* (" in out
    assert "notes.txt" not in out and "shfn-data" not in out, out


def test_a_script_outside_the_spec_directory_is_refused(tmp_path):
    (tmp_path / "outside.sh").write_text("#!/bin/sh\n")
    (tmp_path / "outside.sh").chmod(0o755)
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "fn.yaml").write_text(
        "kind: Function\nmetadata:\n  name: fn\nspec:\n  script: ../outside.sh\n  inputs: [in]\n")
    r = run([shfn_bin(), "image", "build", "--dry-run", str(tmp_path / "spec" / "fn.yaml")],
            check=False)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "fn.yaml:1:1: fn.spec.script: " in err and "outside the spec's directory" in err, err


def test_a_missing_buildah_is_a_clear_error(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    r = run([shfn_bin(), "image", "build", REVERSE], check=False, env=env)
    assert r.returncode == 1
    assert "buildah not found" in r.stderr.decode()
    assert "apt-get install buildah" in r.stderr.decode()


def test_a_bad_image_name_is_a_usage_error():
    r = run([shfn_bin(), "image", "build", REVERSE, "-t", "Not/Valid:", "--dry-run"], check=False)
    assert r.returncode == 2
    assert 'invalid image name "Not/Valid:"' in r.stderr.decode()


def dockerfile_runtime_packages():
    """The packages deploy/Dockerfile's last stage installs, without the build argument."""
    with open(os.path.join(ROOT, "deploy", "Dockerfile")) as f:
        text = f.read()
    runtime = text[text.rindex("\nFROM "):]
    install = re.search(r"apt-get install (.*?)&&", runtime, re.S).group(1)
    words = install.replace("\\\n", " ").split()
    return {w for w in words if not w.startswith("-") and not w.startswith("$")}


def test_the_dockerfile_installs_what_the_binary_links():
    if not shutil.which("dpkg-query"):
        import pytest
        pytest.skip("not a Debian machine: the binary's packages are unknown")
    assert dockerfile_runtime_packages() == planned_packages(dry_run(REVERSE))
