"""Every deploy manifest, parsed and checked against the app and the host's documented rules."""

from __future__ import annotations

import re
import secrets
import shlex
import shutil
import string
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from cfnlint.api import lint_file

from oneapi.config import VALID_THEMES
from oneapi.db.dsn import parse_dsn
from tests.deploy.hosts import (
    INTERPRETER_ENV,
    ROOT,
    DockerfileFacts,
    dockerignore_excludes,
    env_names_read_by_the_app,
    readme_commands,
    readme_section,
    start_command,
)

HF_COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
# Read by AWS Lambda Web Adapter, the extension in deploy/lambda/Dockerfile.streaming.
WEB_ADAPTER_ENV = frozenset({"AWS_LWA_INVOKE_MODE", "AWS_LWA_READINESS_CHECK_PATH", "AWS_LWA_PORT"})


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def assert_known(names: set[str] | list[str], *, also: frozenset[str] = frozenset()) -> None:
    unknown = set(names) - env_names_read_by_the_app() - also
    assert not unknown, f"manifest sets variables the app never reads: {sorted(unknown)}"


def space_front_matter() -> tuple[dict, str]:
    text = (ROOT / "space" / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, "space/README.md must start with YAML front matter"
    return yaml.safe_load(match.group(1)), match.group(2)


# -- the README ------------------------------------------------------------------------------
def test_readme_keeps_its_two_commands_at_the_top() -> None:
    commands = readme_commands()
    assert commands[:2] == ["pip install . && python app.py", 'pip install ".[test]" && python -m pytest']
    assert start_command() == ["python", "app.py"]


def test_readme_deploy_section_covers_every_host() -> None:
    deploy = readme_section("Deploy")
    for host in ("Docker", "Hugging Face", "Render", "Koyeb", "AWS Lambda"):
        assert f"### {host}" in deploy
    assert "https://render.com/deploy?repo=" in deploy
    assert "expire" in deploy.lower(), "say that Render's free PostgreSQL expires"
    assert "sleep" in deploy.lower() or "spin" in deploy.lower(), "say that free instances sleep"


def test_koyeb_button_deploys_the_dockerfile_on_port_8000_with_known_env() -> None:
    deploy = readme_section("Deploy")
    (url,) = re.findall(r"\((https://app\.koyeb\.com/deploy\?[^)\s]+)\)", deploy)
    params = parse_qsl(urlsplit(url).query)
    single = dict(params)
    assert single["type"] == "git" and single["builder"] == "dockerfile"
    assert single["repository"].startswith("github.com/")
    assert single["ports"] == "8000;http;/"
    assert single["instance_type"] == "free" and single["regions"] in {"fra", "was"}
    env = {key[4:-1]: value for key, value in params if key.startswith("env[")}
    assert env["PORT"] == "8000" and env["THEME"] in VALID_THEMES and "SQL_DSN" in env
    assert_known(env)


# -- Dockerfile ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dockerfile", "port", "user"), [("Dockerfile", 3000, "oneapi"), ("space/Dockerfile", 7860, "user")]
)
def test_dockerfile_runs_the_readme_command_as_uid_1000(dockerfile: str, port: int, user: str) -> None:
    facts = DockerfileFacts(ROOT / dockerfile)
    (base,) = facts.values("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    assert any(re.search(r"\bpip install (--user )?(--no-deps )?\.$", run) for run in facts.values("RUN"))
    assert facts.users and facts.users[-1] in (user, "1000")
    assert facts.uid_of(user) == 1000
    assert facts.env["PORT"] == str(port)
    assert str(port) in facts.values("EXPOSE")
    assert facts.env["SQLITE_PATH"] == "/data/one-api.db"
    assert "/healthz" in facts.healthcheck and "PORT" in facts.healthcheck
    assert facts.cmd == start_command()
    assert_known(set(facts.env), also=INTERPRETER_ENV)
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    copied = {source for _flags, sources in facts.copies for source in sources}
    assert {"pyproject.toml", readme, "app.py", "oneapi", "requirements.lock"} <= copied, \
        "pip install . needs these files"
    for source in copied:
        assert (ROOT / source).exists()


def test_root_image_strips_the_dependencies_shared_libraries_and_they_still_load(tmp_path: Path) -> None:
    """The image's strip step, run as written on copies of installed extension modules."""
    runs = DockerfileFacts(ROOT / "Dockerfile").values("RUN")
    (install,) = [run for run in runs if "requirements.lock" in run]
    steps = [step.strip() for step in install.split("&&")]
    assert steps[-2:] == ["apt-get purge -y --auto-remove binutils", "rm -rf /var/lib/apt/lists/*"], \
        "binutils must leave in the layer that brought it"
    (strip,) = [step for step in steps if step.startswith("find ")]
    site = tmp_path / "site-packages"
    for package in ("msgspec", "yarl", "uvloop"):
        source = Path(__import__(package).__file__).parent
        shutil.copytree(source, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    before = sum(path.stat().st_size for path in site.rglob("*.so*"))
    platlib = re.fullmatch(r'find "(\$\(python -c .*?\))"\s+(.*)', strip, re.DOTALL)
    assert platlib, strip
    # the step's own command finds the interpreter's package directory; here it is the copy
    assert "sysconfig" in platlib[1] and "platlib" in platlib[1]
    subprocess.run(["bash", "-c", f"find {shlex.quote(str(site))} {platlib[2]}"], check=True)
    after = sum(path.stat().st_size for path in site.rglob("*.so*"))
    assert after < before * 0.8, (before, after)
    loaded = subprocess.run(
        [sys.executable, "-c", "import msgspec, yarl, uvloop, sys; "
         "print(all(sys.modules[m].__file__.startswith(sys.argv[1]) for m in ('msgspec', 'yarl', 'uvloop')), "
         "msgspec.json.decode(b'[1]'), yarl.URL('http://a/b').path)", str(site)],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["True", "[1]", "/b"]


def test_root_image_declares_the_data_volume_and_a_small_context() -> None:
    facts = DockerfileFacts(ROOT / "Dockerfile")
    assert facts.values("VOLUME") == ["/data"]
    for _flags, sources in facts.copies:
        for source in sources:
            assert not dockerignore_excludes(source), f".dockerignore drops {source}, which the image needs"
    for kept_out in (
        ".git/HEAD",
        "tests/conftest.py",
        "data/one-api.db",
        ".venv/bin/python",
        "space/README.md",
        "oneapi/__pycache__/config.cpython-311.pyc",
    ):
        assert dockerignore_excludes(kept_out), f"{kept_out} should stay out of the build context"


# -- Hugging Face Space ----------------------------------------------------------------------
def test_space_front_matter_is_a_docker_space_on_7860() -> None:
    front, _body = space_front_matter()
    assert front["sdk"] == "docker"
    assert front["app_port"] == 7860 == int(DockerfileFacts(ROOT / "space" / "Dockerfile").env["PORT"])
    assert front["title"] and front["emoji"]
    assert {front["colorFrom"], front["colorTo"]} <= HF_COLOURS
    assert 0 < len(front["short_description"]) <= 60


def test_space_dockerfile_follows_hf_rules() -> None:
    facts = DockerfileFacts(ROOT / "space" / "Dockerfile")
    assert facts.env["HOME"] == "/home/user"
    (workdir,) = facts.values("WORKDIR")
    assert workdir.replace("$HOME", facts.env["HOME"]).startswith("/home/user/")
    for flags, sources in facts.copies:
        assert "--chown=user" in flags, f"COPY {sources} must be --chown=user"


def test_space_readme_tells_duplicators_what_to_set_and_what_they_lose() -> None:
    _front, body = space_front_matter()
    rows = dict(
        (name, kind)
        for kind, name in re.findall(r"^\| (Variable|Secret) \| `([A-Z_]+)` \|", body, re.MULTILINE)
    )
    assert rows == {
        "THEME": "Variable",
        "SQL_DSN": "Secret",
        "SESSION_SECRET": "Secret",
        "INITIAL_ROOT_PASSWORD": "Secret",
    }
    assert_known(rows)
    flat = " ".join(body.split())
    assert "Without `SQL_DSN` your data is lost" in flat
    assert "80, 443 and 8080" in flat and "5432" in flat and "3306" in flat
    assert "paid plan" in flat
    assert "/data" in flat


def test_space_upload_sends_every_file_the_space_dockerfile_copies() -> None:
    _front, body = space_front_matter()
    upload = next(
        block for block in re.findall(r"```bash\n(.*?)\n```", body, re.DOTALL) if "hf upload" in block
    )
    words = shlex.split(upload.replace("\\\n", " "))
    included = [words[i + 1] for i, word in enumerate(words) if word == "--include"]
    renamed = {
        words[i + 3]: words[i + 2] for i, word in enumerate(words) if word == "upload" and words[i + 3] != "."
    }
    assert renamed == {"README.md": "space/README.md", "Dockerfile": "space/Dockerfile"}
    for _flags, sources in DockerfileFacts(ROOT / "space" / "Dockerfile").copies:
        for source in sources:
            assert source in renamed or any(
                re.fullmatch(pattern.replace("**", ".*").replace("*", "[^/]*"), source)
                or pattern.startswith(f"{source}/")
                for pattern in included
            ), f"{source} is never uploaded"


# -- Render ----------------------------------------------------------------------------------
def test_render_blueprint_is_a_free_docker_service_wired_to_its_database() -> None:
    blueprint = load_yaml(ROOT / "render.yaml")
    (service,) = blueprint["services"]
    (database,) = blueprint["databases"]
    assert (service["type"], service["runtime"], service["plan"]) == ("web", "docker", "free")
    assert (ROOT / service["dockerfilePath"]).is_file() and service["dockerContext"] == "."
    assert service["healthCheckPath"] == "/healthz"
    env = {entry["key"]: entry for entry in service["envVars"]}
    assert_known(env)
    assert env["PORT"]["value"] == "10000"
    assert env["SQL_DSN"]["fromDatabase"] == {"name": database["name"], "property": "connectionString"}
    assert env["SESSION_SECRET"]["generateValue"] is True
    assert env["THEME"]["value"] in VALID_THEMES
    assert database["plan"] == "free" and database["ipAllowList"] == []


@pytest.mark.parametrize(
    "connection_string",
    [
        "postgresql://oneapi:s3cr3tPw@dpg-cs1abc2j1k6c73d2efg0-a/oneapi",
        "postgresql://oneapi:s3cr3tPw@dpg-cs1abc2j1k6c73d2efg0-a.oregon-postgres.render.com/oneapi",
    ],
)
def test_render_connection_strings_are_accepted_as_sql_dsn(connection_string: str) -> None:
    target = parse_dsn(connection_string)
    assert target.backend == "postgresql"
    assert target.url.drivername == "postgresql+psycopg" and target.url.database == "oneapi"


# -- Koyeb -----------------------------------------------------------------------------------
def expand_like_koyeb_cli(path: Path, shell: dict[str, str]) -> dict:
    """``koyeb compose`` expands ``${VAR}`` from the shell (``os.ExpandEnv``) before parsing."""
    return yaml.safe_load(string.Template(path.read_text()).safe_substitute(shell))


def test_koyeb_compose_builds_the_dockerfile_on_a_free_instance_with_health_check() -> None:
    shell = {
        "GITHUB_REPOSITORY": "someone/one-api",
        "SQL_DSN": "oneapi:p@ss:w#rd@tcp(db.example.com:3306)/oneapi",
        "SESSION_SECRET": secrets.token_hex(32),
    }
    compose = expand_like_koyeb_cli(ROOT / "koyeb.yaml", shell)
    assert compose["app"]["name"]
    (service,) = compose["services"]
    definition = service["definition"]
    assert definition["type"] == "WEB"
    assert definition["git"]["repository"] == "github.com/someone/one-api"
    assert (ROOT / definition["git"]["docker"]["dockerfile"]).is_file()
    assert set(definition["regions"]) <= {"fra", "was"}
    assert [item["type"] for item in definition["instance_types"]] == ["free"]
    assert definition["ports"] == [{"port": 8000, "protocol": "http"}]
    assert definition["routes"] == [{"port": 8000, "path": "/"}]
    (check,) = definition["health_checks"]
    assert check["http"] == {"port": 8000, "path": "/healthz"}
    env = {entry["key"]: entry["value"] for entry in definition["env"]}
    assert_known(env)
    assert env["PORT"] == "8000" and env["THEME"] in VALID_THEMES
    assert env["SQL_DSN"] == shell["SQL_DSN"], "SQL_DSN comes from the deployer's shell, verbatim"
    assert parse_dsn(env["SQL_DSN"]).url.password == "p@ss:w#rd"


# -- AWS Lambda ------------------------------------------------------------------------------
class _CloudFormationLoader(yaml.SafeLoader):
    """Reads ``!Ref``/``!Sub``/``!GetAtt`` as plain values."""


for _tag in ("!Ref", "!Sub", "!GetAtt"):
    _CloudFormationLoader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


@pytest.mark.parametrize("template", ["template.yaml", "streaming.yaml"])
def test_sam_templates_pass_cfn_lint(template: str) -> None:
    problems = lint_file(ROOT / "deploy" / "lambda" / template)
    assert not problems, "\n".join(str(problem) for problem in problems)


def test_mangum_template_runs_app_handler_with_a_required_database() -> None:
    template = yaml.load((ROOT / "deploy/lambda/template.yaml").read_text(), Loader=_CloudFormationLoader)
    function = template["Resources"]["OneApiFunction"]
    image = DockerfileFacts(ROOT / "deploy" / "lambda" / function["Metadata"]["Dockerfile"].split("/")[-1])
    assert image.cmd == ["app.handler"]
    assert image.values("FROM")[0].startswith("public.ecr.aws/lambda/python:3.1")
    assert function["Properties"]["FunctionUrlConfig"]["InvokeMode"] == "BUFFERED"
    variables = function["Properties"]["Environment"]["Variables"]
    assert_known(variables)
    assert variables["SQL_DSN"] == "SqlDsn" and template["Parameters"]["SqlDsn"]["MinLength"] >= 1
    assert template["Parameters"]["SqlDsn"]["NoEcho"] is True


def test_streaming_template_puts_the_web_adapter_in_front_of_the_readme_command() -> None:
    template = yaml.load((ROOT / "deploy/lambda/streaming.yaml").read_text(), Loader=_CloudFormationLoader)
    function = template["Resources"]["OneApiStreamingFunction"]
    assert function["Properties"]["FunctionUrlConfig"]["InvokeMode"] == "RESPONSE_STREAM"
    variables = function["Properties"]["Environment"]["Variables"]
    assert_known(variables, also=WEB_ADAPTER_ENV)
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    image = DockerfileFacts(ROOT / "deploy" / "lambda" / "Dockerfile.streaming")
    assert any(
        copy.endswith("/lambda-adapter /opt/extensions/lambda-adapter") for copy in image.values("COPY")
    )
    assert image.cmd == start_command()
    assert image.env["AWS_LWA_READINESS_CHECK_PATH"] == "/healthz"
    assert_known(set(image.env), also=WEB_ADAPTER_ENV | INTERPRETER_ENV)


def test_build_context_is_enough_to_build_the_package(tmp_path: Path) -> None:
    """``pip install .`` inside the image sees only what .dockerignore lets through."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    context = tmp_path / "context"
    sent = [name for name in tracked.splitlines() if not dockerignore_excludes(name)]
    for name in sent:
        target = context / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert len(sent) < len(tracked.splitlines()), ".dockerignore should keep tests and manifests out"
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("one_api-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    package_files = {name for name in sent if name.startswith("oneapi/")}
    assert package_files and package_files <= packaged, sorted(package_files - packaged)[:10]
