"""The Spark session of `prismrec spark …`, and Spark's and Java's errors turned into one-line `PrismrecError`s.

`spark_session` starts (or reuses) a session: local mode over every core by default, another
master (`spark://…`, `yarn`, `k8s://…`) when given; Arrow for pandas exchange, quiet logging (the
driver's console shows no Spark log lines and no progress bar; failures are reported by the
command), the UTC time zone, the driver memory when given. `session` is the same as a
context manager that stops only a session it started itself.

Every job runs inside `spark_errors()`: an `AnalysisException` (a path that does not exist, a
missing column), a failed task or a Py4J error becomes a `SparkJobError` or `DataError` holding the
first line of the message, never a Java stack trace.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prismrec import errors
from prismrec.errors import ConfigError, DataError, PrismrecError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "install it with: pip install 'prismrec[spark]'"
JAVA_HINT = "install Java 17 (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
QUIET_LOG4J = """\
# Root at WARN (the level the shell expects, so Spark announces none); the console shows only fatal
# errors: failures reach the driver as exceptions and are reported there, in one line.
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = fatal
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%throwable{short}
"""


class SparkSetupError(PrismrecError):
    """pyspark or Java is missing, or the Spark session could not start."""


class SparkJobError(PrismrecError):
    """A Spark job failed (the message is the first line of the cause)."""


def require_pyspark() -> None:
    """Raise `SparkSetupError` when pyspark cannot be imported."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkSetupError(f"'prismrec spark' needs pyspark, which is not installed; {INSTALL_HINT}") from None


def java_executable() -> str | None:
    """The java that Spark would start: $JAVA_HOME/bin/java, else `java` on PATH; None when there is none."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def require_java() -> None:
    """Raise `SparkSetupError` when no Java runtime can be found."""
    if java_executable() is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") else \
            "no 'java' on PATH"  # fmt: skip
        raise SparkSetupError(f"'prismrec spark' needs a Java runtime ({where}); {JAVA_HINT}")


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


def check_master(master: str) -> str:
    """`master` if Spark accepts its form (local, local[N], spark://, yarn, k8s://), else a `ConfigError`."""
    if master == "yarn" or master.startswith(("local", "spark://", "k8s://")):
        return master
    raise ConfigError(f"--master must be local[*], local[N], spark://HOST:PORT, yarn or k8s://URL, not '{master}'")


def check_memory(amount: str | None) -> str | None:
    """A JVM memory amount such as 4g or 512m (None: Spark's default)."""
    if amount is not None and not _MEMORY.match(amount.strip()):
        raise ConfigError(f"--driver-memory must be a size such as 4g or 512m, not '{amount}'")
    return amount


def spark_session(
    master: str = DEFAULT_MASTER,
    app_name: str = "prismrec",
    driver_memory: str | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """A Spark session for prismrec's jobs (an active session is reused; its master is then kept).

    Args:
        master: "local[*]" (every core of this machine), "local[N]", or a cluster URL.
        app_name: the application name the cluster shows.
        driver_memory: e.g. "4g"; only takes effect when this call starts the driver.
        conf: further Spark settings (they win over the defaults here).
    """
    check_master(master)
    check_memory(driver_memory)
    require_pyspark()
    require_java()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if is_local(master):
        # Local workers run this interpreter, so they import this prismrec and its dependencies.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{_quiet_log_config()}",
    }
    if is_local(master):
        settings["spark.ui.enabled"] = "false"
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: report why in one line
        raise SparkSetupError(f"Spark did not start ({first_line(error)}); check --master and {JAVA_HINT}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def session(
    master: str = DEFAULT_MASTER, driver_memory: str | None = None, conf: dict[str, str] | None = None
) -> Iterator[SparkSession]:
    """`spark_session` as a context: a session started here is stopped at the end, an active one is kept."""
    require_pyspark()
    from pyspark.sql import SparkSession

    started = SparkSession.getActiveSession() is None
    spark = spark_session(master, driver_memory=driver_memory, conf=conf)
    try:
        with warnings.catch_warnings(), spark_errors():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"pyspark\.")  # reported as errors instead
            yield spark
    finally:
        if started:
            spark.stop()


def _quiet_log_config() -> str:
    """The driver's log4j2 file: nothing below fatal on the console (written once, in the temp folder)."""
    path = Path(tempfile.gettempdir()) / "prismrec-spark-log4j2.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != QUIET_LOG4J:
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(QUIET_LOG4J, encoding="utf-8")
        temporary.replace(path)
    return str(path)


# ---------------------------------------------------------------------------------------------- errors

_PYTHON_ERROR = re.compile(r"^((?:\w+\.)*)(\w*(?:Error|Exception)): (.+)$")
_ERROR_CLASS = re.compile(r"^\[[A-Z_.]+\]\s*")


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of an error's message, without Spark's [ERROR_CLASS] prefix."""
    text = str(error)
    for line in text.splitlines():
        if line.strip():
            return _ERROR_CLASS.sub("", line.strip())
    return type(error).__name__ if isinstance(error, BaseException) else ""


def worker_error(text: str) -> tuple[str, str, str] | None:
    """(module, class name, message) of the last Python error line of a worker's traceback, if any."""
    found = None
    for line in text.splitlines():
        match = _PYTHON_ERROR.match(line.strip())
        if match:
            found = (match.group(1).rstrip("."), match.group(2), match.group(3).strip())
    return found


_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\s*$")
_READ_FILE = re.compile(r"reading file (\S+?)\.?\s")
_BAD_DATA = ("MALFORMED", "FAILED_READ_FILE", "CANNOT_PARSE", "PATH_NOT_FOUND", "UNABLE_TO_INFER_SCHEMA")


def java_causes(error: BaseException) -> list[str]:
    """The messages of the Java exception behind `error` and of its causes, outermost first."""
    java = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    messages: list[str] = []
    try:
        while java is not None and len(messages) < 20:
            message = java.getMessage()
            messages.append(str(message) if message is not None else str(java.getClass().getName()))
            java = java.getCause()
    except Exception:  # the JVM is gone: keep what was read
        pass
    return messages


def translate(error: BaseException) -> PrismrecError | None:
    """The `PrismrecError` a Spark, Py4J or worker error stands for (None: not one of those).

    A `PrismrecError` raised in a worker comes back as the same class with the same message; a
    failed read or a malformed record becomes a `DataError` naming the file; anything else a
    `SparkJobError` with the innermost Java message, in one line.
    """
    from py4j.protocol import Py4JError
    from pyspark.errors import AnalysisException, PySparkException

    if isinstance(error, AnalysisException):
        return DataError(first_line(error))
    if not isinstance(error, PySparkException | Py4JError):
        return None
    text = str(error)
    found = worker_error(text) if "Traceback" in text else None
    if found is not None:
        module, name, message = found
        kind = getattr(errors, name, None) if module == errors.__name__ else None
        if isinstance(kind, type) and issubclass(kind, PrismrecError):
            return kind(message)
        return SparkJobError(f"a Spark task failed: {name}: {message}")
    causes = [c for c in java_causes(error) if c.strip() and not c.startswith("Exception thrown in awaitResult")]
    if not causes:
        return SparkJobError(f"Spark failed: {first_line(error)}")
    root = _SQLSTATE.sub("", first_line(causes[-1]))
    files = [m.group(1) for c in causes if (m := _READ_FILE.search(c))]
    where = f" (in {files[0].removeprefix('file://')})" if files else ""
    if any(marker in c for c in causes for marker in _BAD_DATA):
        return DataError(f"{root}{where}")
    return SparkJobError(f"Spark failed: {root}{where}")


@contextmanager
def spark_errors() -> Iterator[None]:
    """Re-raise Spark's, Py4J's and the workers' errors as one-line `PrismrecError`s."""
    try:
        yield
    except PrismrecError:
        raise
    except Exception as error:
        translated = translate(error)
        if translated is None:
            raise
        raise translated from None


def conf_pairs(assignments: list[str]) -> dict[str, Any]:
    """`--conf key=value` options as a dict."""
    out = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise SparkSetupError(f"--conf needs key=value, got '{text}'")
        out[key.strip()] = value.strip()
    return out
